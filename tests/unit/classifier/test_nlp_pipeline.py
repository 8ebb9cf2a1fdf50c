from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import torch

from services.classifier.nlp.encoder import (
    DeviceUnavailable,
    ModelLabelsError,
    default_lanes,
    length_batches,
    native_bf16,
    resolve_device,
    resolve_dtype,
    sentiment_of_labels,
)
from services.classifier.nlp.heads import (
    SENTIMENT_LABELS,
    TOPIC_LABELS,
    Example,
    HeadParams,
    Heads,
    train_heads,
)
from services.classifier.nlp.language import LanguageDetector
from services.classifier.nlp.pipeline import (
    TextClassifier,
    TextInput,
    sentiment_from_probs,
    topics_from_probs,
)
from shared.events import SentimentLabel, Topic

KEYWORDS = {
    SentimentLabel.negative: "terrible",
    SentimentLabel.neutral: "okay",
    SentimentLabel.positive: "wonderful",
    Topic.delivery: "parcel",
    Topic.billing: "invoice",
}


def keyword_vectors(texts: Sequence[str]) -> np.ndarray:
    """Stand-in encoder: one dimension per keyword, plus a bias dimension."""
    words = list(KEYWORDS.values())
    out = np.array([[float(w in t.lower()) for w in words] + [0.1] for t in texts])
    return out / np.linalg.norm(out, axis=1, keepdims=True)


class FakeEncoder:
    name = "fake-encoder"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return keyword_vectors(texts)


class FakeSentimentEncoder(FakeEncoder):
    """Stands for a sequence-classification model: its own sentiment, always neutral."""

    name = "fake-sentiment-model"

    def encode_with_sentiment(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        return self.encode(texts), np.tile([0.1, 0.7, 0.2], (len(texts), 1))


@pytest.fixture(scope="module")
def heads() -> Heads:
    examples = [
        Example(f"{s}-{t}-{k}", "en", f"{KEYWORDS[s]} {KEYWORDS[t]} {k}", s, (t,), "train")
        for s in SENTIMENT_LABELS
        for t in (Topic.delivery, Topic.billing)
        for k in range(4)
    ]
    vectors = keyword_vectors([e.text for e in examples])
    return train_heads(vectors, examples, HeadParams(sentiment_c=10, topic_c=10), "abcdef0123")


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(preferred=["en", "sv"], preload=False)


@pytest.fixture
def encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def classifier(heads: Heads, detector: LanguageDetector, encoder: FakeEncoder) -> TextClassifier:
    return TextClassifier(
        encoder=encoder, heads=heads, detector=detector, scored_languages=["en", "sv"]
    )


class TestTextClassifier:
    def test_items_without_text_are_unscored_without_a_model_call(
        self, classifier: TextClassifier, encoder: FakeEncoder
    ) -> None:
        results = classifier.classify([TextInput(None), TextInput("  \n", language_hint="en")])
        assert [(r.unscored, r.unscored_reason, r.sentiment) for r in results] == [
            (True, "no_text", None),
            (True, "no_text", None),
        ]
        assert encoder.calls == []

    def test_unsupported_language_is_unscored_but_redacted(
        self, classifier: TextClassifier, encoder: FakeEncoder
    ) -> None:
        text = "Il pacco è arrivato in ritardo, scrivetemi a mario@example.it"
        (result,) = classifier.classify([TextInput(text)])
        assert result.unscored and result.unscored_reason == "unsupported_language:it"
        assert result.language == "it"
        assert result.redacted_text == "Il pacco è arrivato in ritardo, scrivetemi a [EMAIL]"
        assert result.sentiment is None and result.topics == ()
        assert encoder.calls == []

    def test_all_scored_texts_go_through_one_encoder_call_in_order(
        self, classifier: TextClassifier, encoder: FakeEncoder
    ) -> None:
        items = [
            TextInput("The parcel was terrible, it arrived broken and late."),
            TextInput(None),
            TextInput("Paketet var helt wonderful, tack så mycket för leveransen!"),
            TextInput("The invoice was wonderful and clear, thank you."),
        ]
        results = classifier.classify(items)
        assert len(encoder.calls) == 1 and len(encoder.calls[0]) == 3
        assert [r.sentiment.label if r.sentiment else None for r in results] == [
            SentimentLabel.negative,
            None,
            SentimentLabel.positive,
            SentimentLabel.positive,
        ]
        assert [r.topics[0][0] if r.topics else None for r in results] == [
            Topic.delivery,
            None,
            Topic.delivery,
            Topic.billing,
        ]
        assert [r.language for r in results] == ["en", None, "sv", "en"]

    def test_pii_is_redacted_before_the_encoder_sees_it(
        self, classifier: TextClassifier, encoder: FakeEncoder
    ) -> None:
        text = "Terrible invoice, call me on +46 70 123 45 67 or write to a.b@example.com"
        (result,) = classifier.classify([TextInput(text)])
        assert encoder.calls == [["Terrible invoice, call me on [PHONE] or write to [EMAIL]"]]
        assert result.redacted_text == encoder.calls[0][0]
        assert not result.unscored

    def test_undetectable_language_is_still_scored(self, classifier: TextClassifier) -> None:
        (result,) = classifier.classify([TextInput("👍👍")])
        assert result.language is None
        assert result.sentiment is not None and not result.unscored

    def test_model_version_names_encoder_and_heads(self, classifier: TextClassifier) -> None:
        assert classifier.model_version == "fake-encoder+heads-abcdef01"

    def test_an_encoder_with_its_own_sentiment_overrides_the_sentiment_head(
        self, heads: Heads, detector: LanguageDetector
    ) -> None:
        encoder = FakeSentimentEncoder()
        classifier = TextClassifier(
            encoder=encoder, heads=heads, detector=detector, scored_languages=["en"]
        )
        (result,) = classifier.classify([TextInput("The parcel was terrible.")])
        assert result.sentiment is not None
        assert result.sentiment.label == SentimentLabel.neutral  # the heads would say negative
        assert result.sentiment.score == pytest.approx(0.1)
        assert result.topics[0][0] == Topic.delivery  # topics still from the heads
        assert len(encoder.calls) == 1


class TestScoring:
    def test_sentiment_score_is_positive_minus_negative(self) -> None:
        s = sentiment_from_probs(np.array([0.1, 0.2, 0.7]))
        assert s.label == SentimentLabel.positive
        assert s.score == pytest.approx(0.6)
        assert s.confidence == pytest.approx(0.7)
        assert sentiment_from_probs(np.array([0.8, 0.15, 0.05])).score == pytest.approx(-0.75)

    def test_topics_above_threshold_sorted_by_probability(self) -> None:
        probs = np.zeros(len(TOPIC_LABELS))
        probs[TOPIC_LABELS.index(Topic.billing)] = 0.6
        probs[TOPIC_LABELS.index(Topic.returns)] = 0.9
        probs[TOPIC_LABELS.index(Topic.pricing)] = 0.4
        assert topics_from_probs(probs, 0.5) == ((Topic.returns, 0.9), (Topic.billing, 0.6))

    def test_the_most_likely_topic_is_kept_below_threshold(self) -> None:
        probs = np.full(len(TOPIC_LABELS), 0.05)
        probs[TOPIC_LABELS.index(Topic.usability)] = 0.3
        assert topics_from_probs(probs, 0.5) == ((Topic.usability, 0.3),)


class TestSentimentOfLabels:
    def test_names_with_neg_neu_pos_are_read(self) -> None:
        labels = {0: "NEGATIVE", 1: "Neutral", 2: "very_positive"}
        assert sentiment_of_labels(labels) == (
            SentimentLabel.negative,
            SentimentLabel.neutral,
            SentimentLabel.positive,
        )

    def test_one_to_five_stars_fold_into_three_classes(self) -> None:
        labels = {i: f"{i + 1} star{'s' if i else ''}" for i in range(5)}
        assert [s.value for s in sentiment_of_labels(labels)] == [
            "negative",
            "negative",
            "neutral",
            "positive",
            "positive",
        ]

    def test_configured_map_wins_over_the_names(self) -> None:
        overrides = {"LABEL_0": SentimentLabel.negative, "LABEL_1": SentimentLabel.positive}
        assert sentiment_of_labels({0: "LABEL_0", 1: "LABEL_1"}, overrides) == (
            SentimentLabel.negative,
            SentimentLabel.positive,
        )

    def test_an_unreadable_label_is_an_error_not_a_guess(self) -> None:
        with pytest.raises(ModelLabelsError, match="LABEL_2"):
            sentiment_of_labels({0: "negative", 1: "positive", 2: "LABEL_2"})

    def test_labels_without_both_poles_are_not_sentiment(self) -> None:
        with pytest.raises(ModelLabelsError, match="lack negative or positive"):
            sentiment_of_labels({0: "neutral", 1: "positive"})


class TestDevice:
    @pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
    def test_cuda_without_cuda_fails_clearly(self) -> None:
        with pytest.raises(DeviceUnavailable, match="CUDA is not available"):
            resolve_device("cuda")

    @pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
    def test_auto_falls_back_to_the_cpu(self) -> None:
        assert resolve_device("auto") == torch.device("cpu")

    def test_explicit_dtype_is_taken_as_given(self) -> None:
        assert resolve_dtype("float32", torch.device("cpu")) == torch.float32
        assert resolve_dtype("bfloat16", torch.device("cpu")) == torch.bfloat16

    def test_two_lanes_on_a_cpu_one_on_a_gpu(self) -> None:
        cpu = torch.device("cpu")
        assert default_lanes(cpu, 2) == 2
        assert default_lanes(cpu, 16) == 2
        assert default_lanes(cpu, 1) == 1
        assert default_lanes(torch.device("cuda"), 16) == 1

    def test_auto_dtype_is_bfloat16_only_where_the_cpu_computes_it(self) -> None:
        cpu = torch.device("cpu")
        expected = torch.bfloat16 if native_bf16(cpu) else torch.float32
        assert resolve_dtype("auto", cpu) == expected


class TestLengthBatches:
    def test_similar_lengths_share_a_batch_shortest_first(self) -> None:
        lengths = [30, 5, 31, 6, 29, 7]
        assert length_batches(lengths, max_rows=3, max_tokens=10_000) == [[1, 3, 5], [4, 0, 2]]

    def test_long_texts_go_in_smaller_batches(self) -> None:
        lengths = [10] * 8 + [100] * 4
        batches = length_batches(lengths, max_rows=32, max_tokens=200)
        assert [len(b) for b in batches] == [8, 2, 2]
        assert all(len(b) * max(lengths[i] for i in b) <= 200 for b in batches)

    def test_a_text_longer_than_the_budget_still_gets_a_batch(self) -> None:
        assert length_batches([500, 3], max_rows=4, max_tokens=100) == [[1], [0]]

    def test_every_index_appears_once(self) -> None:
        lengths = [(i * 37) % 50 + 1 for i in range(200)]
        batches = length_batches(lengths, max_rows=16, max_tokens=256)
        assert sorted(i for b in batches for i in b) == list(range(200))
        assert length_batches([], max_rows=4, max_tokens=100) == []
