"""`CLASSIFIER_NLP__MODEL_DIR`: the service on another local model, built here, tiny.

Each test writes a BERT with a few thousand weights and a tokenizer over a small vocabulary to
a temporary directory, as a deployment would place its own model, then builds the classifier
the way the service does. The heads train on the tiny model's vectors in a second or two.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizer

from services.classifier.nlp.encoder import Encoder, ModelLabelsError
from services.classifier.nlp.pipeline import TextClassifier, TextInput, build_classifier
from services.classifier.nlp.settings import NlpSettings
from shared.events import SentimentLabel

WORDS = ["the", "parcel", "was", "late", "great", "terrible", "invoice", "thanks", "!", ".", ","]
VOCAB = [
    *("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"),
    *WORDS,
    *string.ascii_lowercase,
    *(f"##{c}" for c in string.ascii_lowercase),
]
TEXTS = [
    TextInput("The parcel was late and nobody answered my emails.", "en"),
    TextInput("Great service, thanks a lot!", "en"),
    TextInput("Die Rechnung war falsch.", "de"),
]


def tiny_config(**extra: Any) -> BertConfig:
    return BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,  # below the 256-token setting: the encoder must clamp
        **extra,
    )


def save_tiny(model_dir: Path, model: BertModel | BertForSequenceClassification) -> Path:
    model.save_pretrained(model_dir)
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(VOCAB)}, model_max_length=64)
    tokenizer.save_pretrained(model_dir)
    return model_dir


def tiny_classifier(model_dir: Path, bias: list[float], labels: list[str]) -> Path:
    """A sequence classifier whose logits are `bias` for every text, so its answer is known."""
    torch.manual_seed(0)
    model = BertForSequenceClassification(tiny_config(id2label=dict(enumerate(labels))))
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor(bias))
    return save_tiny(model_dir, model)


def settings_for(model_dir: Path, cache: Path, **extra: object) -> NlpSettings:
    return NlpSettings(model_dir=model_dir, cache_dir=cache, **extra)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return save_tiny(tmp_path_factory.mktemp("tiny-encoder"), BertModel(tiny_config()))


class TestSentenceEncoderDirectory:
    def test_service_scores_with_heads_trained_on_the_local_encoder(
        self, encoder_dir: Path, tmp_path: Path
    ) -> None:
        classifier = build_classifier(settings_for(encoder_dir, tmp_path))
        results = classifier.classify(TEXTS)
        assert all(r.sentiment is not None and r.topics for r in results)
        assert [r.language for r in results] == ["en", "en", "de"]
        assert classifier.model_version.startswith(f"{encoder_dir.name}+heads-")
        assert len(list((tmp_path / "heads").glob("heads-*.npz"))) == 1
        assert not list(tmp_path.glob("e5-small-*"))  # the bundled model was never expanded

    def test_max_length_is_clamped_to_the_models_positions(self, encoder_dir: Path) -> None:
        encoder = Encoder(model_dir=encoder_dir, max_length=256)
        assert encoder.max_length == 64
        vectors = encoder.encode(["the parcel was late " * 40])  # ~160 tokens before truncation
        assert vectors.shape == (1, 32)
        assert np.isclose(np.linalg.norm(vectors), 1.0, atol=1e-5)


class TestSequenceClassifierDirectory:
    def test_sentiment_comes_from_the_models_own_labels(self, tmp_path: Path) -> None:
        model_dir = tiny_classifier(
            tmp_path / "model", [0.0, 0.0, 2.0], ["NEGATIVE", "NEUTRAL", "POSITIVE"]
        )
        classifier = build_classifier(settings_for(model_dir, tmp_path / "cache"))
        results = classifier.classify(TEXTS)
        expected = float(np.exp(2.0) / (2 + np.exp(2.0)))
        for r in results:
            assert r.sentiment is not None
            assert r.sentiment.label == SentimentLabel.positive
            assert r.sentiment.confidence == pytest.approx(expected, abs=1e-3)
            assert r.sentiment.score == pytest.approx(expected - 1 / (2 + np.exp(2.0)), abs=1e-3)
            assert r.topics  # topics still come from the heads over the model's vectors

    def test_star_ratings_fold_into_negative_neutral_positive(self, tmp_path: Path) -> None:
        stars = ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"]
        model_dir = tiny_classifier(tmp_path / "model", [1.0, 1.5, 0.0, 0.0, 1.0], stars)
        classifier = build_classifier(settings_for(model_dir, tmp_path / "cache"))
        (result,) = classifier.classify(TEXTS[:1])
        p = np.exp([1.0, 1.5, 0.0, 0.0, 1.0]) / np.exp([1.0, 1.5, 0.0, 0.0, 1.0]).sum()
        assert result.sentiment is not None
        assert result.sentiment.label == SentimentLabel.negative
        assert result.sentiment.confidence == pytest.approx(p[0] + p[1], abs=1e-3)
        assert result.sentiment.score == pytest.approx(p[3] + p[4] - p[0] - p[1], abs=1e-3)

    def test_unreadable_labels_fail_at_start_unless_mapped(self, tmp_path: Path) -> None:
        model_dir = tiny_classifier(tmp_path / "model", [0.0, 3.0], ["LABEL_0", "LABEL_1"])
        with pytest.raises(ModelLabelsError, match="SENTIMENT_LABEL_MAP"):
            build_classifier(settings_for(model_dir, tmp_path / "cache"))
        mapping = {"LABEL_0": SentimentLabel.negative, "LABEL_1": SentimentLabel.positive}
        mapped = build_classifier(
            settings_for(model_dir, tmp_path / "cache", sentiment_label_map=mapping)
        )
        (result,) = mapped.classify(TEXTS[:1])
        assert result.sentiment is not None and result.sentiment.label == SentimentLabel.positive

    def test_model_sentiment_off_uses_only_the_encoder_and_the_heads(self, tmp_path: Path) -> None:
        model_dir = tiny_classifier(
            tmp_path / "model", [0.0, 0.0, 9.0], ["negative", "neutral", "positive"]
        )
        own = build_classifier(settings_for(model_dir, tmp_path / "cache"))
        heads_only = build_classifier(
            settings_for(model_dir, tmp_path / "cache", model_sentiment=False)
        )
        assert own.model_version != heads_only.model_version
        scores = [r.sentiment.confidence for r in heads_only.classify(TEXTS) if r.sentiment]
        # The model's constant answer has confidence 0.9998; trained heads vary by text.
        assert len(scores) == 3 and len({round(s, 6) for s in scores}) > 1

    def test_two_label_model_maps_and_versions_its_labels(self, tmp_path: Path) -> None:
        model_dir = tiny_classifier(tmp_path / "model", [0.0, 1.0], ["neg", "pos"])
        classifier: TextClassifier = build_classifier(settings_for(model_dir, tmp_path / "c"))
        encoder = classifier.encoder
        assert isinstance(encoder, Encoder)
        assert encoder.sentiment_labels == (SentimentLabel.negative, SentimentLabel.positive)
        assert "|sentiment=negative,positive" in encoder.identity
