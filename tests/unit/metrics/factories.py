"""Enriched feedback events for the metrics writer's tests (unit and integration)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import (
    Customer,
    EnrichedFeedback,
    EnrichedFeedbackEvent,
    Enrichment,
    ReviewPart,
    Sentiment,
    SourceKind,
    SurveyPart,
    TicketPart,
    TopicScore,
)
from shared.ids import feedback_id_for, revision_rank

T0 = datetime(2026, 11, 2, 14, 25, tzinfo=UTC)
STAGES = {"checkout": "conversion", "delivery": "retention", "website": "consideration"}


def _minutes(revision: str) -> int:
    return int(revision) if revision.isdigit() and len(revision) < 6 else 0


def enriched(
    source_id: str = "item-1",
    *,
    revision: str = "1",
    kind: str = "survey",
    source: str = "typeform",
    occurred_at: datetime = T0,
    received_at: datetime | None = None,
    touchpoint: str = "checkout",
    nps: int | None = None,
    csat: int | None = None,
    ces: int | None = None,
    stars: int | None = None,
    sentiment: tuple[str, float] | None = None,
    unscored: bool = False,
    deleted: bool = False,
    channel: str | None = None,
    segment: str | None = None,
    language: str | None = "en",
    topics: tuple[str, ...] = ("delivery",),
    text: str | None = "it arrived late",
    metadata: dict[str, Any] | None = None,
    **survey: Any,
) -> EnrichedFeedbackEvent:
    """One version of one item, received `revision` minutes after T0 unless told otherwise.

    `csat` lands on the ticket for tickets, `stars` on the review for reviews, every score on the
    survey otherwise."""
    parts: dict[str, Any] = {}
    if kind == "survey":
        parts["survey"] = SurveyPart(nps=nps, csat=csat, ces=ces, stars=stars, **survey)
    elif kind == "ticket":
        parts["ticket"] = TicketPart(csat=csat)
    elif kind == "review":
        parts["review"] = ReviewPart(stars=stars or 5)
    data = EnrichedFeedback(
        feedback_id=feedback_id_for(source, source_id),
        source_kind=SourceKind(kind),
        source=source,
        source_id=source_id,
        revision=revision,
        revision_rank=revision_rank(revision),
        deleted=deleted,
        occurred_at=occurred_at,
        received_at=received_at or T0 + timedelta(minutes=_minutes(revision)),
        customer=Customer(id="c-1", segment=segment),
        channel=channel,
        metadata=metadata or {},
        enrichment=Enrichment(
            language=language,
            redacted_text=text,
            sentiment=Sentiment(label=sentiment[0], score=sentiment[1], confidence=0.9)  # type: ignore[arg-type]
            if sentiment
            else None,
            topics=[TopicScore(label=t, score=0.8) for t in topics],  # type: ignore[arg-type]
            touchpoint=touchpoint,
            journey_stage=STAGES.get(touchpoint, "loyalty"),  # type: ignore[arg-type]
            touchpoint_rule="explicit",
            model_version="test-1",
            unscored=unscored,
        ),
        **parts,
    )
    return EnrichedFeedbackEvent.wrap(data, producer="classifier")
