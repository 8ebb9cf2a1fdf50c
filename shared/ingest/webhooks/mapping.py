"""Adapter items → the events we publish: raw feedback, tombstones and pending fetches.

Shared by the webhook route and the fetch worker, so both validate and map the same way: a
canonical item goes through the service's own `to_feedback`, exactly as on `/v1/...`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from shared.events import Feedback, RawFeedbackEvent, SourceKind
from shared.ids import feedback_id_for, revision_rank
from shared.ingest.body import validation_errors
from shared.ingest.errors import InvalidPayload
from shared.ingest.models import IngestItem, SourceIdStr
from shared.ingest.webhooks.adapter import Deletion, FetchRequest, Ignored, Item, WebhookAdapter
from shared.ingest.webhooks.metrics import ACCEPTED, DELETED, FETCH_QUEUED, IGNORED
from shared.ingest.webhooks.pending import FetchPendingEvent

ToFeedback = Callable[[Any, datetime], Feedback]
RAW_KEY = "raw"  # metadata["raw"]: the vendor's payload for this item, for replay and audit
_SOURCE_ID = TypeAdapter(SourceIdStr)


def _check_source_id(source_id: str, index: int) -> None:
    # Canonical items are validated by their model; tombstones and fetches skip it, and ids.py
    # relies on ids free of control characters.
    try:
        _SOURCE_ID.validate_python(source_id)
    except ValidationError as exc:
        raise InvalidPayload(validation_errors(["mapped", index, "source_id"], exc)) from exc


@dataclass
class Mapped:
    events: list[RawFeedbackEvent] = field(default_factory=list)
    fetches: list[FetchPendingEvent] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)  # one per item, for the metrics

    @property
    def ignored(self) -> int:
        return self.outcomes.count(IGNORED)


class ItemMapper:
    def __init__(self, *, kind: SourceKind, producer: str, to_feedback: ToFeedback | None) -> None:
        self.kind = kind
        self.producer = producer
        self.to_feedback = to_feedback

    def map(
        self,
        adapter: WebhookAdapter,
        items: Sequence[Item],
        *,
        raw: Any,
        received_at: datetime,
        correlation_id: str | None = None,
    ) -> Mapped:
        """Events for `items`; `raw` is kept in every item that did not set its own."""
        mapped = Mapped()
        for index, item in enumerate(items):
            if isinstance(item, Ignored):
                mapped.outcomes.append(IGNORED)
            elif isinstance(item, FetchRequest):
                _check_source_id(item.source_id, index)
                mapped.fetches.append(
                    FetchPendingEvent.create(
                        vendor=adapter.vendor,
                        source_id=item.source_id,
                        delivery_id=item.delivery_id,
                        params=item.params,
                        envelope=raw,
                        received_at=received_at,
                        producer=self.producer,
                        correlation_id=correlation_id,
                    )
                )
                mapped.outcomes.append(FETCH_QUEUED)
            else:
                if isinstance(item, Deletion):
                    _check_source_id(item.source_id, index)
                    feedback = self._tombstone(adapter.vendor, item, received_at, raw)
                    mapped.outcomes.append(DELETED)
                else:
                    feedback = self._feedback(adapter.vendor, index, item, received_at)
                    feedback.metadata.setdefault(RAW_KEY, raw)
                    mapped.outcomes.append(ACCEPTED)
                mapped.events.append(
                    RawFeedbackEvent.wrap(
                        feedback, producer=self.producer, correlation_id=correlation_id
                    )
                )
        return mapped

    def _feedback(
        self, vendor: str, index: int, item: IngestItem, received_at: datetime
    ) -> Feedback:
        if self.to_feedback is None:
            raise RuntimeError("webhook adapters are registered without a to_feedback mapping")
        if item.source != vendor:
            raise RuntimeError(f"the {vendor} adapter produced an item of source {item.source}")
        try:
            feedback = self.to_feedback(item, received_at)
        except ValidationError as exc:
            raise InvalidPayload(validation_errors(["mapped", index], exc)) from exc
        if feedback.source_kind != self.kind:
            raise RuntimeError(f"{self.producer} mapped a {vendor} item to {feedback.source_kind}")
        return feedback

    def _tombstone(self, vendor: str, item: Deletion, received_at: datetime, raw: Any) -> Feedback:
        return Feedback(
            feedback_id=feedback_id_for(vendor, item.source_id),
            source_kind=self.kind,
            source=vendor,
            source_id=item.source_id,
            revision=item.revision,
            revision_rank=revision_rank(item.revision),
            deleted=True,
            occurred_at=item.occurred_at,
            received_at=received_at,
            metadata={RAW_KEY: item.raw if item.raw is not None else raw},
        )
