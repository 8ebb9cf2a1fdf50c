"""The classifier's NLP core: redact, detect the language, embed once, score with the heads.

Knows no Kafka and no HTTP: the service hands in a batch of texts and gets one result per text,
in order. Every scored text of a call goes through the encoder in one batched pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeGuard, runtime_checkable

import numpy as np

from services.classifier.nlp.encoder import Encoder
from services.classifier.nlp.heads import (
    SENTIMENT_LABELS,
    TOPIC_LABELS,
    HeadParams,
    Heads,
    load_or_train,
)
from services.classifier.nlp.language import DetectedLanguage, LanguageDetector
from services.classifier.nlp.redact import PLACEHOLDER, redact
from services.classifier.nlp.settings import NlpSettings
from shared.events import SentimentLabel, Topic

NO_TEXT = "no_text"
UNSUPPORTED_LANGUAGE = "unsupported_language"

_NEGATIVE = SENTIMENT_LABELS.index(SentimentLabel.negative)
_POSITIVE = SENTIMENT_LABELS.index(SentimentLabel.positive)


class TextEncoder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class SentimentEncoder(Protocol):
    """An encoder that may also score sentiment itself (a sequence-classification model)."""

    name: str

    def encode_with_sentiment(
        self, texts: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray | None]: ...


@dataclass(frozen=True, slots=True)
class TextInput:
    text: str | None
    language_hint: str | None = None


@dataclass(frozen=True, slots=True)
class SentimentScore:
    label: SentimentLabel
    score: float  # P(positive) - P(negative), in -1..1
    confidence: float  # probability of `label`


@dataclass(frozen=True, slots=True)
class TextResult:
    language: str | None = None
    language_confidence: float | None = None
    redacted_text: str | None = None
    sentiment: SentimentScore | None = None
    topics: tuple[tuple[Topic, float], ...] = ()  # primary (highest) first
    unscored: bool = False
    unscored_reason: str | None = None


def sentiment_from_probs(probs: np.ndarray) -> SentimentScore:
    best = int(probs.argmax())
    return SentimentScore(
        label=SENTIMENT_LABELS[best],
        score=float(np.clip(probs[_POSITIVE] - probs[_NEGATIVE], -1.0, 1.0)),
        confidence=float(probs[best]),
    )


def topics_from_probs(probs: np.ndarray, threshold: float) -> tuple[tuple[Topic, float], ...]:
    """Topics at or above `threshold`, most likely first; never empty, as every item has a
    primary topic even when the heads are unsure which."""
    order = np.argsort(-probs, kind="stable")
    keep = [int(i) for i in order if probs[i] >= threshold] or [int(order[0])]
    return tuple((TOPIC_LABELS[i], float(probs[i])) for i in keep)


def has_text(text: str | None) -> TypeGuard[str]:
    return text is not None and bool(text.strip())


class TextClassifier:
    def __init__(
        self,
        *,
        encoder: TextEncoder,
        heads: Heads,
        detector: LanguageDetector,
        scored_languages: Iterable[str],
        topic_threshold: float = 0.5,
    ) -> None:
        self._encoder = encoder
        self._heads = heads
        self._detector = detector
        self.scored_languages = frozenset(c.lower() for c in scored_languages)
        self.topic_threshold = topic_threshold
        self.model_version = f"{encoder.name}+heads-{heads.version[:8]}"

    @property
    def encoder(self) -> TextEncoder:
        return self._encoder

    @property
    def heads(self) -> Heads:
        return self._heads

    @property
    def detector(self) -> LanguageDetector:
        return self._detector

    def classify(self, items: Sequence[TextInput]) -> list[TextResult]:
        results: list[TextResult | None] = [None] * len(items)
        # Redact first: PII must never reach the model, and an email address or a phone
        # number would only mislead the language detector.
        texted = [(i, redact(item.text)) for i, item in enumerate(items) if has_text(item.text)]
        langs = self._detector.detect_many(
            [PLACEHOLDER.sub(" ", redacted) for _, redacted in texted],
            [items[i].language_hint for i, _ in texted],
        )
        pending: list[tuple[int, str, DetectedLanguage | None]] = []
        for (i, redacted), lang in zip(texted, langs, strict=True):
            if lang is not None and lang.code not in self.scored_languages:
                results[i] = TextResult(
                    language=lang.code,
                    language_confidence=lang.confidence,
                    redacted_text=redacted,
                    unscored=True,
                    unscored_reason=f"{UNSUPPORTED_LANGUAGE}:{lang.code}",
                )
                continue
            # An undetected language is still scored: the encoder is multilingual, and short
            # texts such as "ok!!" or an emoji carry sentiment without telling their language.
            pending.append((i, redacted, lang))
        if pending:
            vectors, sentiment = self._embed([text for _, text, _ in pending])
            topics = self._heads.topic_probs(vectors)
            for row, (i, text, lang) in enumerate(pending):
                results[i] = TextResult(
                    language=lang.code if lang else None,
                    language_confidence=lang.confidence if lang else None,
                    redacted_text=text,
                    sentiment=sentiment_from_probs(sentiment[row]),
                    topics=topics_from_probs(topics[row], self.topic_threshold),
                )
        no_text = TextResult(unscored=True, unscored_reason=NO_TEXT)
        return [no_text if r is None else r for r in results]

    def _embed(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Vectors and sentiment probabilities: the model's own where it has a sentiment head
        (one forward pass gives both), else the trained head's."""
        if isinstance(self._encoder, SentimentEncoder):
            vectors, sentiment = self._encoder.encode_with_sentiment(texts)
            if sentiment is not None:
                return vectors, sentiment
        else:
            vectors = self._encoder.encode(texts)
        return vectors, self._heads.sentiment_probs(vectors)


def build_classifier(
    settings: NlpSettings, params: HeadParams | None = None, *, calibrated: bool = True
) -> TextClassifier:
    """Load the encoder, then the heads (trained and cached on first start). Takes seconds.

    `calibrated`: load the heads `voc train-heads` installed, if any are valid for this encoder
    and examples file; False gives the heads trained from the committed examples alone.
    """
    encoder = Encoder(
        cache_dir=settings.cache_dir,
        model_dir=settings.model_dir,
        device=settings.device,
        dtype=settings.dtype,
        batch_size=settings.batch_size,
        batch_tokens=settings.batch_tokens,
        pad_to_multiple_of=settings.pad_to_multiple_of,
        max_length=settings.max_length,
        threads=settings.threads,
        lanes=settings.lanes,
        query_prefix=settings.query_prefix,
        model_sentiment=settings.model_sentiment,
        sentiment_label_map=settings.sentiment_label_map,
    )

    def embed(texts: list[str]) -> np.ndarray:
        # Train on exactly what classify() feeds the encoder: redacted text.
        return encoder.encode([redact(t) for t in texts])

    heads = load_or_train(
        cache_dir=settings.cache_dir,
        examples_path=settings.examples_path,
        embed=embed,
        encoder_identity=encoder.identity,
        params=params,
        use_installed=calibrated,
    )
    detector = LanguageDetector(
        settings.languages,
        preferred=settings.scored_languages,
        min_confidence=settings.language_min_confidence,
        min_confidence_other=settings.language_min_confidence_unscored,
    )
    return TextClassifier(
        encoder=encoder,
        heads=heads,
        detector=detector,
        scored_languages=settings.scored_languages,
        topic_threshold=settings.topic_threshold,
    )
