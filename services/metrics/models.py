"""The feedback fact: one row per feedback_id at its latest revision (shared.tables)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from shared.events import EnrichedFeedbackEvent

Fact = dict[str, Any]

_BIGINT = 2**63


def as_utc(ts: datetime) -> datetime:
    """Aware UTC; a naive timestamp is taken to be UTC already."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def bucket_start(occurred_at: datetime) -> datetime:
    """The rollup bucket: the UTC hour the item occurred in."""
    return as_utc(occurred_at).replace(minute=0, second=0, microsecond=0)


def fact_from_event(event: EnrichedFeedbackEvent) -> Fact:
    """The feedback_facts row for one version of an item, every column but updated_at."""
    fb = event.data
    en = fb.enrichment
    survey, ticket, review = fb.survey, fb.ticket, fb.review
    csat = survey.csat if survey and survey.csat is not None else (ticket.csat if ticket else None)
    stars = review.stars if review else (survey.stars if survey else None)
    topics = [{"label": t.label.value, "score": t.score} for t in en.topics]
    return {
        "feedback_id": fb.feedback_id,
        "event_id": event.event_id,
        "revision": fb.revision,
        "revision_rank": fb.revision_rank,
        "received_at": as_utc(fb.received_at),
        "deleted": fb.deleted,
        "source_kind": fb.source_kind.value,
        "source": fb.source,
        "source_id": fb.source_id,
        "occurred_at": as_utc(fb.occurred_at),
        "bucket_start": bucket_start(fb.occurred_at),
        "touchpoint": en.touchpoint,
        "journey_stage": en.journey_stage.value,
        "touchpoint_rule": en.touchpoint_rule,
        "touchpoint_hint": fb.touchpoint,
        "channel": fb.channel or "",
        "segment": fb.customer.segment or "",
        "language": en.language or "",
        "survey_type": survey.survey_type if survey else "",
        "audience": survey.audience if survey else "",
        "customer_id": fb.customer.id,
        "nps": survey.nps if survey else None,
        "csat": csat,
        "ces": survey.ces if survey else None,
        "stars": stars,
        "sentiment_label": en.sentiment.label.value if en.sentiment else None,
        "sentiment_score": en.sentiment.score if en.sentiment else None,
        "sentiment_confidence": en.sentiment.confidence if en.sentiment else None,
        "primary_topic": topics[0]["label"] if topics else None,
        "topics": topics,
        # A tombstone keeps what ordering and the rollup need, not the text of a deleted item.
        "redacted_text": None if fb.deleted else en.redacted_text,
        "language_confidence": en.language_confidence,
        "unscored": en.unscored,
        "unscored_reason": en.unscored_reason,
        "model_version": en.model_version,
        "metadata": fb.metadata,
    }


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def unstorable_reason(fact: Fact) -> str | None:
    """Why PostgreSQL would refuse this valid event, or None: such a record goes to the DLQ.

    Retrying cannot help these, and one of them must not block the batch it arrived in.
    """
    if not -_BIGINT <= fact["revision_rank"] < _BIGINT:
        return "revision_rank does not fit in 64 bits"
    if any(_has_nul(v) for v in fact.values()):
        return "text contains a NUL character"
    for name in ("metadata", "topics"):
        try:
            json.dumps(fact[name], allow_nan=False)
        except ValueError:
            return f"{name} is not representable as JSON (NaN, Infinity or a huge number)"
    for name in ("sentiment_score", "sentiment_confidence", "language_confidence"):
        value = fact[name]
        if value is not None and not math.isfinite(value):
            return f"{name} is not finite"
    return None
