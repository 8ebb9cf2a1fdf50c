"""Event contracts: the envelope, the events and their topics (feedback models: feedback.py).

These pydantic models are the source of truth for every message on Kafka; `schemas/` holds their
exported JSON Schema (`make schemas`) and a test fails when the two drift. Within a version,
changes are additive only: a breaking change is a new class with a new `VERSION` and topic.
So building an event is strict (an unknown field is a bug in the producer) and reading one is
tolerant (an unknown field is a newer producer's addition, dropped): see Envelope.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Self, TypeVar
from uuid import UUID

from pydantic import BaseModel, Field
from pydantic.config import ExtraValues

from shared.feedback import (
    Contract,
    Customer,
    Engagement,
    EnrichedFeedback,
    Enrichment,
    Feedback,
    JourneyStage,
    ReviewPart,
    Sentiment,
    SentimentLabel,
    ShortStr,
    SocialPart,
    SourceKind,
    SurveyPart,
    TicketPart,
    Topic,
    TopicScore,
)
from shared.ids import event_id_for, feedback_id_for

# The feedback models are re-exported: `from shared.events import Feedback` is the contract's
# import path.
__all__ = [
    "DLQ_TOPIC",
    "Customer",
    "Engagement",
    "EnrichedFeedback",
    "EnrichedFeedbackEvent",
    "Enrichment",
    "Envelope",
    "Feedback",
    "FetchPendingEvent",
    "JourneyStage",
    "PendingFetch",
    "RawFeedbackEvent",
    "ReviewPart",
    "Sentiment",
    "SentimentLabel",
    "SocialPart",
    "SourceKind",
    "SurveyPart",
    "TicketPart",
    "Topic",
    "TopicScore",
    "all_topics",
]


DataT = TypeVar("DataT", bound=BaseModel)


class Envelope(Contract, Generic[DataT]):
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

    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        extra: ExtraValues | None = "ignore",
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        """Read a consumed event: unknown fields, at any depth, are dropped, not rejected.

        Within a version changes are additive (DESIGN.md), so an event from a newer producer
        may carry optional fields this consumer does not know yet; forbidding them would
        dead-letter valid events. Everything else is validated as strictly as on the producer
        side. Pass `extra="forbid"` to check a document as a producer would.
        """
        return super().model_validate_json(
            json_data,
            strict=strict,
            extra=extra,
            context=context,
            by_alias=by_alias,
            by_name=by_name,
        )

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


class PendingFetch(Contract):
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
