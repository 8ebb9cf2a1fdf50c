"""One vendor delivery, end to end: find the adapter, check, verify, throttle, parse, publish."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field, ValidationError

from shared.errors import VocError
from shared.ingest.body import read_body, validation_errors
from shared.ingest.errors import InvalidPayload, UnsupportedMediaType
from shared.ingest.ingestor import Ingestor, correlation_id
from shared.ingest.models import Accepted
from shared.ingest.webhooks.adapter import Delivery, WebhookAdapter
from shared.ingest.webhooks.errors import (
    HandshakeNotSupported,
    RateLimited,
    UnknownVendor,
    VendorDisabled,
)
from shared.ingest.webhooks.mapping import ItemMapper, Mapped
from shared.ingest.webhooks.metrics import WebhookMetrics
from shared.ingest.webhooks.ratelimit import TokenBucket
from shared.ingest.webhooks.settings import WebhookSettings
from shared.ingest.webhooks.signatures import AuthFailure

log = structlog.get_logger(__name__)

REJECT_REASONS = {
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation",
    429: "rate_limited",
    503: "broker_unavailable",
}


class WebhookAccepted(Accepted):
    """Every item of the delivery was acknowledged by the broker (or needs no publishing)."""

    fetch_queued: int = Field(
        default=0, description="Envelopes queued for their fetch step (fetch-step vendors)."
    )
    ignored: int = Field(default=0, description="Genuine items we do not score.")


def media_type_ok(content_type: str, accepted: Sequence[str]) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    if media in accepted:
        return True
    json_ok = "application/json" in accepted
    return json_ok and media.startswith("application/") and media.endswith("+json")


class WebhookReceiver:
    def __init__(
        self,
        *,
        adapters: Sequence[WebhookAdapter],
        settings: WebhookSettings,
        max_body_bytes: int,
        ingestor: Ingestor,
        mapper: ItemMapper,
        metrics: WebhookMetrics,
        enabled: Callable[[WebhookAdapter], bool] = lambda _: True,
    ) -> None:
        self.adapters: dict[str, WebhookAdapter] = {}
        for adapter in adapters:
            if adapter.vendor in self.adapters:
                raise ValueError(f"two webhook adapters for {adapter.vendor}")
            self.adapters[adapter.vendor] = adapter
        self.settings = settings
        self.max_body_bytes = min(max_body_bytes, settings.max_body_bytes)
        self.ingestor = ingestor
        self.mapper = mapper
        self.metrics = metrics
        self.enabled = enabled
        self._buckets: dict[str, TokenBucket] = {}

    def adapter(self, vendor: str) -> tuple[WebhookAdapter, str]:
        """The adapter of an enabled vendor and its secret; 404 otherwise."""
        adapter = self.adapters.get(vendor)
        if adapter is None:
            raise UnknownVendor(f"no webhook adapter for {vendor!r} on this service")
        secret = self.settings.secret(vendor)
        if secret is None or not self.enabled(adapter):
            raise VendorDisabled(f"webhook vendor {vendor!r} is disabled: it has no secret set")
        return adapter, secret

    def _throttle(self, vendor: str) -> None:
        bucket = self._buckets.get(vendor)
        if bucket is None:
            limit = self.settings.limit_for(vendor)
            bucket = self._buckets[vendor] = TokenBucket(limit.per_s, limit.burst)
        wait = bucket.try_take()
        if wait > 0:
            raise RateLimited(wait)

    async def receive(self, request: Request, vendor: str) -> WebhookAccepted:
        adapter, secret = self.adapter(vendor)
        try:
            delivery = await self._delivery(request, adapter)
            self._verify(adapter, delivery, secret)
            self._throttle(vendor)
            mapped = self._map(adapter, delivery, correlation_id(request))
            await self.ingestor.publish([*mapped.events, *mapped.fetches])
        except AuthFailure:
            raise
        except VocError as exc:
            reason = REJECT_REASONS.get(exc.status_code, "other")
            self.metrics.rejected.labels(vendor, reason).inc()
            self.ingestor.metrics.rejected.labels(reason).inc()
            log.info("webhook.rejected", vendor=vendor, reason=reason, status=exc.status_code)
            raise
        self._count(vendor, mapped)
        log.info(
            "webhook.accepted",
            vendor=vendor,
            events=len(mapped.events),
            fetches=len(mapped.fetches),
            ignored=mapped.ignored,
        )
        return WebhookAccepted(
            accepted=len(mapped.events),
            event_ids=[e.event_id for e in mapped.events],
            fetch_queued=len(mapped.fetches),
            ignored=mapped.ignored,
        )

    async def handshake(self, request: Request, vendor: str) -> Response:
        adapter, secret = self.adapter(vendor)
        delivery = Delivery(
            vendor=vendor,
            method=request.method,
            headers=request.headers,
            query=request.query_params,
            body=b"",
            received_at=datetime.now(UTC),
            tolerance_s=self.settings.timestamp_tolerance_s,
        )
        answer = adapter.handshake(delivery, secret)
        if answer is None:
            raise HandshakeNotSupported(f"{vendor} webhooks are POST only")
        if request.method == "HEAD":
            return Response(status_code=200)
        return JSONResponse(answer)

    async def _delivery(self, request: Request, adapter: WebhookAdapter) -> Delivery:
        if not media_type_ok(request.headers.get("content-type", ""), adapter.media_types):
            raise UnsupportedMediaType(f"expected Content-Type: {', '.join(adapter.media_types)}")
        # Fail fast before reading a large body we could not publish anyway.
        self.ingestor.broker.producer()
        body = await read_body(request, self.max_body_bytes)
        return Delivery(
            vendor=adapter.vendor,
            method=request.method,
            headers=request.headers,
            query=request.query_params,
            body=body,
            received_at=datetime.now(UTC),
            tolerance_s=self.settings.timestamp_tolerance_s,
        )

    def _verify(self, adapter: WebhookAdapter, delivery: Delivery, secret: str) -> None:
        try:
            adapter.verify(delivery, secret)
        except AuthFailure as exc:
            self.metrics.auth_failures.labels(adapter.vendor, exc.reason).inc()
            log.warning("webhook.unauthorized", vendor=adapter.vendor, reason=exc.reason)
            raise

    def _map(self, adapter: WebhookAdapter, delivery: Delivery, correlation: str | None) -> Mapped:
        try:
            items = adapter.parse(delivery)
        except ValidationError as exc:
            # The vendor's fields were read; one of ours came out invalid (e.g. nps 11).
            raise InvalidPayload(validation_errors(["mapped"], exc)) from exc
        return self.mapper.map(
            adapter,
            items,
            raw=delivery.document(),
            received_at=delivery.received_at,
            correlation_id=correlation,
        )

    def _count(self, vendor: str, mapped: Mapped) -> None:
        for outcome in mapped.outcomes:
            self.metrics.events.labels(vendor, outcome).inc()
        source = self.ingestor.metrics.source_label(vendor)
        for _ in mapped.events:
            self.ingestor.metrics.accepted.labels(source).inc()
