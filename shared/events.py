"""Event contracts: the envelope, canonical feedback and its enrichment.

These pydantic models are the source of truth for every message on Kafka; `schemas/` holds their
exported JSON Schema (`make schemas`) and a test fails when the two drift. Within a version,
changes are additive only: a breaking change is a new class with a new `VERSION` and topic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, Literal, Self, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.ids import event_id_for, feedback_id_for


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


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


ShortStr = Annotated[str, Field(max_length=256)]


class Customer(_Model):
    id: ShortStr | None = None
    segment: ShortStr | None = None
    locale: ShortStr | None = None


class SurveyPart(_Model):
    nps: Annotated[int, Field(ge=0, le=10)] | None = None
    csat: Annotated[int, Field(ge=1, le=5)] | None = None
    ces: Annotated[int, Field(ge=1, le=7)] | None = None
    stars: Annotated[int, Field(ge=1, le=5)] | None = None
    survey_type: Literal["relationship", "transactional"] = "transactional"
    audience: Literal["customer", "employee"] = "customer"


class TicketPart(_Model):
    status: ShortStr | None = None
    priority: ShortStr | None = None
    tags: list[ShortStr] = Field(default_factory=list, max_length=100)
    csat: Annotated[int, Field(ge=1, le=5)] | None = None
    first_response_seconds: Annotated[float, Field(ge=0)] | None = None
    resolution_seconds: Annotated[float, Field(ge=0)] | None = None


class ReviewPart(_Model):
    stars: Annotated[int, Field(ge=1, le=5)]
    platform: ShortStr | None = None
    product_id: ShortStr | None = None
    title: Annotated[str, Field(max_length=1000)] | None = None


class Engagement(_Model):
    likes: Annotated[int, Field(ge=0)] = 0
    shares: Annotated[int, Field(ge=0)] = 0
    replies: Annotated[int, Field(ge=0)] = 0


class SocialPart(_Model):
    platform: ShortStr | None = None
    author: ShortStr | None = None
    url: Annotated[str, Field(max_length=2048)] | None = None
    reach: Annotated[int, Field(ge=0)] | None = None
    engagement: Engagement = Field(default_factory=Engagement)


class Feedback(_Model):
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


class Sentiment(_Model):
    label: SentimentLabel
    score: Annotated[float, Field(ge=-1, le=1)]
    confidence: Annotated[float, Field(ge=0, le=1)]


class TopicScore(_Model):
    label: Topic
    score: Annotated[float, Field(ge=0, le=1)]


class Enrichment(_Model):
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


DataT = TypeVar("DataT", bound=BaseModel)


class Envelope(_Model, Generic[DataT]):
    event_id: UUID
    type: str
    version: int
    occurred_at: datetime
    produced_at: datetime
    producer: ShortStr
    correlation_id: ShortStr
    data: DataT

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1

    def key(self) -> bytes:
        """Kafka key: the item's feedback_id, so all versions of one item stay in order."""
        return str(self.data.feedback_id).encode()  # type: ignore[attr-defined]

    @classmethod
    def wrap(cls, data: DataT, *, producer: str, correlation_id: str | None = None) -> Self:
        """Build the envelope for `data`; the event id follows from the item's identity."""
        fb: Feedback = data  # type: ignore[assignment]
        eid = event_id_for(fb.source, fb.source_id, fb.revision)
        return cls(
            event_id=eid,
            type=cls.TYPE,
            version=cls.VERSION,
            occurred_at=fb.occurred_at,
            produced_at=datetime.now(UTC),
            producer=producer,
            correlation_id=correlation_id or str(eid),
            data=data,
        )


class RawFeedbackEvent(Envelope[Feedback]):
    """A feedback item as ingested, on `voc.raw.<kind>.v1`."""

    TYPE: ClassVar[str] = "voc.feedback.raw"

    @classmethod
    def topic_for(cls, kind: SourceKind | str) -> str:
        return f"voc.raw.{SourceKind(kind).value}.v{cls.VERSION}"

    @classmethod
    def topics(cls) -> list[str]:
        return [cls.topic_for(k) for k in SourceKind]

    def topic(self) -> str:
        return self.topic_for(self.data.source_kind)


class EnrichedFeedbackEvent(Envelope[EnrichedFeedback]):
    """A classified feedback item, on `voc.enriched.v1`."""

    TYPE: ClassVar[str] = "voc.feedback.enriched"
    TOPIC: ClassVar[str] = "voc.enriched.v1"

    @classmethod
    def topics(cls) -> list[str]:
        return [cls.TOPIC]

    def topic(self) -> str:
        return self.TOPIC


class PendingFetch(_Model):
    """A fetch-step vendor's webhook envelope, waiting for its details to be fetched."""

    feedback_id: UUID = Field(description="The item's feedback_id: the Kafka key.")
    vendor: str
    source_id: str
    delivery_id: str = Field(description="The vendor's id of the notification.")
    params: dict[str, str] = Field(default_factory=dict)
    envelope: Any = Field(description="The webhook body as received, for audit and replay.")
    received_at: datetime


class FetchPendingEvent(Envelope[PendingFetch]):
    """On `voc.fetch.pending.v1`, consumed by the fetch worker of the vendor's service."""

    TYPE: ClassVar[str] = "voc.fetch.pending"
    TOPIC: ClassVar[str] = "voc.fetch.pending.v1"

    @classmethod
    def topics(cls) -> list[str]:
        return [cls.TOPIC]

    def topic(self) -> str:
        return self.TOPIC

    @classmethod
    def create(
        cls,
        *,
        vendor: str,
        source_id: str,
        delivery_id: str,
        params: dict[str, str],
        envelope: Any,
        received_at: datetime,
        producer: str,
        correlation_id: str | None = None,
    ) -> FetchPendingEvent:
        # A vendor re-sending the same notification yields the same id: consumers may dedupe.
        eid = event_id_for(vendor, source_id, f"fetch:{delivery_id}")
        return cls(
            event_id=eid,
            type=cls.TYPE,
            version=cls.VERSION,
            occurred_at=received_at,
            produced_at=datetime.now(UTC),
            producer=producer,
            correlation_id=correlation_id or str(eid),
            data=PendingFetch(
                feedback_id=feedback_id_for(vendor, source_id),
                vendor=vendor,
                source_id=source_id,
                delivery_id=delivery_id,
                params=params,
                envelope=envelope,
                received_at=received_at,
            ),
        )


DLQ_TOPIC = "voc.dlq.v1"


def all_topics() -> list[str]:
    """Every topic the pipeline uses, for the topic bootstrapper."""
    return [
        *RawFeedbackEvent.topics(),
        EnrichedFeedbackEvent.TOPIC,
        FetchPendingEvent.TOPIC,
        DLQ_TOPIC,
    ]
