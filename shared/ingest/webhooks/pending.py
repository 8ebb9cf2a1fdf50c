"""Envelopes waiting for their fetch step, on `voc.fetch.pending.v1`.

A fetch-step vendor's webhook is acknowledged once its envelope is on this topic; the fetch
worker of the same service consumes it, fetches the details and publishes the items. Keyed by
the item's future feedback_id, so notifications about one item are fetched in order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Envelope
from shared.ids import event_id_for, feedback_id_for


class PendingFetch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feedback_id: UUID = Field(description="The item's feedback_id: the Kafka key.")
    vendor: str
    source_id: str
    delivery_id: str = Field(description="The vendor's id of the notification.")
    params: dict[str, str] = Field(default_factory=dict)
    envelope: Any = Field(description="The webhook body as received, for audit and replay.")
    received_at: datetime


class FetchPendingEvent(Envelope[PendingFetch]):
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
