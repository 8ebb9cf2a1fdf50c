"""Enrichment logic: a raw feedback item plus its NLP result -> the enriched item. Pure.

Knows no Kafka and no model: the handler runs the pipeline and hands the results in, so every
rule here is unit-testable with plain result objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.classifier.nlp.pipeline import TextInput
from services.classifier.touchpoints import TouchpointResolver
from shared.events import EnrichedFeedback, Enrichment, Feedback, Sentiment, TopicScore

# Why an item carries no sentiment even though the pipeline never saw it.
NO_TEXT = "no_text"
DELETED = "deleted"
NO_SENTIMENT = "no_sentiment"


class SentimentResult(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def confidence(self) -> float: ...


class TextResultLike(Protocol):
    """What enrichment needs from the pipeline's TextResult."""

    @property
    def language(self) -> str | None: ...
    @property
    def language_confidence(self) -> float | None: ...
    @property
    def redacted_text(self) -> str | None: ...
    @property
    def sentiment(self) -> SentimentResult | None: ...
    @property
    def topics(self) -> Sequence[tuple[str, float]]: ...
    @property
    def unscored(self) -> bool: ...
    @property
    def unscored_reason(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class ClassificationPlan:
    """Which items of a batch go to the pipeline: `inputs[i]` is the text of `positions[i]`."""

    positions: list[int]
    inputs: list[TextInput]


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, float(value)))


def plan_batch(items: Sequence[Feedback]) -> ClassificationPlan:
    """Texts worth classifying; deletes and text-less items (a bare NPS score) skip the model."""
    positions: list[int] = []
    inputs: list[TextInput] = []
    for i, fb in enumerate(items):
        if fb.deleted or not fb.text or not fb.text.strip():
            continue
        positions.append(i)
        inputs.append(TextInput(text=fb.text, language_hint=fb.language_hint or fb.customer.locale))
    return ClassificationPlan(positions, inputs)


UNSTORED_METADATA = frozenset({"raw"})


def _skip_reason(feedback: Feedback) -> str:
    return DELETED if feedback.deleted else NO_TEXT


def enrich(
    feedback: Feedback,
    result: TextResultLike | None,
    *,
    resolver: TouchpointResolver,
    model_version: str,
) -> EnrichedFeedback:
    """The enriched item; `result` is None for items the plan kept away from the model.

    The original text never leaves this function: only the redacted text travels downstream.
    Raises pydantic.ValidationError if the result breaks the contract (e.g. an unknown topic).
    """
    if result is None:
        resolution = resolver.resolve(feedback)
        enrichment = Enrichment(
            touchpoint=resolution.touchpoint,
            journey_stage=resolution.stage,
            touchpoint_rule=resolution.rule,
            model_version=model_version,
            unscored=True,
            unscored_reason=_skip_reason(feedback),
        )
    else:
        topics = [
            TopicScore.model_validate({"label": label, "score": _clamp(score, 0.0, 1.0)})
            for label, score in result.topics
        ]
        resolution = resolver.resolve(feedback, [t.label.value for t in topics])
        sentiment = None
        if result.sentiment is not None and not result.unscored:
            s = result.sentiment
            sentiment = Sentiment.model_validate(
                {
                    "label": s.label,
                    "score": _clamp(s.score, -1.0, 1.0),
                    "confidence": _clamp(s.confidence, 0.0, 1.0),
                }
            )
        lang_conf = result.language_confidence
        enrichment = Enrichment(
            language=result.language,
            language_confidence=None if lang_conf is None else _clamp(lang_conf, 0.0, 1.0),
            redacted_text=result.redacted_text,
            sentiment=sentiment,
            topics=topics,
            touchpoint=resolution.touchpoint,
            journey_stage=resolution.stage,
            touchpoint_rule=resolution.rule,
            model_version=model_version,
            unscored=sentiment is None,
            unscored_reason=None if sentiment else (result.unscored_reason or NO_SENTIMENT),
        )
    data = feedback.model_dump(exclude={"text"})
    # The vendor's raw webhook payload stays on the raw topic (replay, audit): it holds
    # unredacted text and personal data, so it must not reach the database or the API.
    data["metadata"] = {k: v for k, v in feedback.metadata.items() if k not in UNSTORED_METADATA}
    return EnrichedFeedback.model_validate({**data, "text": None, "enrichment": enrichment})
