"""Canonical feedback and its enrichment: the `data` of the raw and enriched events.

Every source kind is mapped to `Feedback`; the classifier adds `Enrichment`. The envelopes that
carry them on Kafka, and their topics, are in shared/events.py, which also re-exports these
names (DESIGN.md "Events"). Within a version, changes are additive only.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class SourceKind(StrEnum):
    survey = "survey"
    ticket = "ticket"
    review = "review"
    social = "social"


class JourneyStage(StrEnum):
    awareness = "awareness"
    consideration = "consideration"
    conversion = "conversion"
    retention = "retention"
    loyalty = "loyalty"


class Topic(StrEnum):
    delivery = "delivery"
    product_quality = "product_quality"
    pricing = "pricing"
    customer_support = "customer_support"
    usability = "usability"
    billing = "billing"
    returns = "returns"
    other = "other"


class SentimentLabel(StrEnum):
    negative = "negative"
    neutral = "neutral"
    positive = "positive"


class Contract(BaseModel):
    """Base of every event model: strict where events are built.

    A misspelt or unknown field fails the producer that builds the event. Consumers read with
    Envelope.model_validate_json, which ignores unknown fields instead (see there).
    """

    model_config = ConfigDict(extra="forbid", frozen=False)


ShortStr = Annotated[str, Field(max_length=256)]


class Customer(Contract):
    id: ShortStr | None = None
    segment: ShortStr | None = None
    locale: ShortStr | None = None


class SurveyPart(Contract):
    nps: Annotated[int, Field(ge=0, le=10)] | None = None
    csat: Annotated[int, Field(ge=1, le=5)] | None = None
    ces: Annotated[int, Field(ge=1, le=7)] | None = None
    stars: Annotated[int, Field(ge=1, le=5)] | None = None
    survey_type: Literal["relationship", "transactional"] = "transactional"
    audience: Literal["customer", "employee"] = "customer"


class TicketPart(Contract):
    status: ShortStr | None = None
    priority: ShortStr | None = None
    tags: list[ShortStr] = Field(default_factory=list, max_length=100)
    csat: Annotated[int, Field(ge=1, le=5)] | None = None
    first_response_seconds: Annotated[float, Field(ge=0)] | None = None
    resolution_seconds: Annotated[float, Field(ge=0)] | None = None


class ReviewPart(Contract):
    stars: Annotated[int, Field(ge=1, le=5)]
    platform: ShortStr | None = None
    product_id: ShortStr | None = None
    title: Annotated[str, Field(max_length=1000)] | None = None


class Engagement(Contract):
    likes: Annotated[int, Field(ge=0)] = 0
    shares: Annotated[int, Field(ge=0)] = 0
    replies: Annotated[int, Field(ge=0)] = 0


class SocialPart(Contract):
    platform: ShortStr | None = None
    author: ShortStr | None = None
    url: Annotated[str, Field(max_length=2048)] | None = None
    reach: Annotated[int, Field(ge=0)] | None = None
    engagement: Engagement = Field(default_factory=Engagement)


class Feedback(Contract):
    """One version of one feedback item, in the canonical shape every source is mapped to."""

    feedback_id: UUID
    source_kind: SourceKind
    source: ShortStr = Field(description="Source system, e.g. 'typeform' or 'api'.")
    source_id: ShortStr = Field(description="The item's id in the source system.")
    revision: ShortStr = Field(description="Version of the item as the source names it.")
    revision_rank: int = Field(
        description="Orderable form of `revision` (see shared.ids.revision_rank); the higher wins."
    )
    deleted: bool = False
    occurred_at: datetime
    received_at: datetime = Field(description="When our ingestion service accepted the item.")
    customer: Customer = Field(default_factory=Customer)
    touchpoint: ShortStr | None = Field(
        default=None, description="Touchpoint hint from the source."
    )
    channel: ShortStr | None = None
    text: Annotated[str, Field(max_length=20_000)] | None = None
    language_hint: ShortStr | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    survey: SurveyPart | None = None
    ticket: TicketPart | None = None
    review: ReviewPart | None = None
    social: SocialPart | None = None


class Sentiment(Contract):
    label: SentimentLabel
    score: Annotated[float, Field(ge=-1, le=1)]
    confidence: Annotated[float, Field(ge=0, le=1)]


class TopicScore(Contract):
    label: Topic
    score: Annotated[float, Field(ge=0, le=1)]


class Enrichment(Contract):
    language: ShortStr | None = Field(default=None, description="ISO 639-1 code, or null.")
    language_confidence: Annotated[float, Field(ge=0, le=1)] | None = None
    redacted_text: str | None = None
    sentiment: Sentiment | None = None
    topics: list[TopicScore] = Field(default_factory=list, description="Primary topic first.")
    touchpoint: ShortStr
    journey_stage: JourneyStage
    touchpoint_rule: ShortStr = Field(
        description="What decided the touchpoint: 'explicit', 'rule:<name>', 'topic:<label>' "
        "or 'default'."
    )
    model_version: ShortStr
    unscored: bool = False
    unscored_reason: ShortStr | None = None


class EnrichedFeedback(Feedback):
    """Feedback after classification. `text` is always null here: only `redacted_text` travels."""

    enrichment: Enrichment
