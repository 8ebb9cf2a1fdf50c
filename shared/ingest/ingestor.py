"""The ingestion pipeline for one request: read, validate, map, wrap, publish, count."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import structlog
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from shared.errors import VocError
from shared.events import Feedback, RawFeedbackEvent, SourceKind
from shared.ingest.body import check_json_media_type, parse_items, read_body, validation_errors
from shared.ingest.broker import BrokerLink
from shared.ingest.errors import InvalidPayload
from shared.ingest.metrics import IngestMetrics
from shared.ingest.models import Accepted
from shared.ingest.settings import IngestSettings
from shared.ingest.webhooks.pending import FetchPendingEvent
from shared.kafka import publish

log = structlog.get_logger(__name__)

M = TypeVar("M", bound=BaseModel)
ToFeedback = Callable[[M, datetime], Feedback]

REJECT_REASONS = {
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation",
    503: "broker_unavailable",
}
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")


def correlation_id(request: Request) -> str | None:
    """The caller's X-Request-ID when it is a sane token; otherwise each event uses its id."""
    value = request.headers.get("x-request-id", "")
    return value if _REQUEST_ID.match(value) else None


class Ingestor:
    """Turns one HTTP request into acknowledged `RawFeedbackEvent`s on the kind's raw topic."""

    def __init__(
        self,
        *,
        kind: SourceKind,
        settings: IngestSettings,
        broker: BrokerLink,
        metrics: IngestMetrics,
    ) -> None:
        self.kind = kind
        self.settings = settings
        self.broker = broker
        self.metrics = metrics
        self.producer_name = settings.service_name

    async def ingest(
        self, request: Request, model: type[M], to_feedback: ToFeedback[M]
    ) -> Accepted:
        """Accept every item of the request or none: 202 only after the broker acked them all."""
        try:
            events = await self._events(request, model, to_feedback)
            await self.publish(events)
        except VocError as exc:
            reason = REJECT_REASONS.get(exc.status_code, "other")
            self.metrics.rejected.labels(reason).inc()
            log.info("ingest.rejected", kind=self.kind.value, reason=reason, status=exc.status_code)
            raise
        for event in events:
            self.metrics.accepted.labels(self.metrics.source_label(event.data.source)).inc()
        log.info("ingest.accepted", kind=self.kind.value, count=len(events))
        return Accepted(accepted=len(events), event_ids=[e.event_id for e in events])

    async def _events(
        self, request: Request, model: type[M], to_feedback: ToFeedback[M]
    ) -> list[RawFeedbackEvent]:
        check_json_media_type(request)
        # Fail fast before reading a large body we could not publish anyway.
        self.broker.producer()
        body = await read_body(request, self.settings.max_body_bytes)
        parsed = parse_items(body, model, self.settings.max_items)
        received_at = datetime.now(UTC)
        correlation = correlation_id(request)
        events = []
        for index, item in enumerate(parsed.items):
            try:
                feedback = to_feedback(item, received_at)
            except ValidationError as exc:
                # The request models mirror the contract's limits, so this is a safety net.
                raise InvalidPayload(validation_errors(parsed.loc(index), exc)) from exc
            if feedback.source_kind != self.kind:
                raise RuntimeError(f"{self.producer_name} mapped an item to {feedback.source_kind}")
            events.append(
                RawFeedbackEvent.wrap(
                    feedback, producer=self.producer_name, correlation_id=correlation
                )
            )
        return events

    async def publish(self, events: Sequence[RawFeedbackEvent | FetchPendingEvent]) -> None:
        """Send `events` to their topics; return once the broker acknowledged every one."""
        producer = self.broker.producer()
        started = time.perf_counter()
        await publish(
            producer,
            [(event.topic(), event) for event in events],
            timeout_s=self.settings.publish_timeout_s,
        )
        self.metrics.broker_ack.observe(time.perf_counter() - started)
