"""Building deliveries and an in-memory vendor API for adapter tests (no sockets)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import httpx
from starlette.datastructures import Headers

from shared.ingest.errors import InvalidPayload
from shared.ingest.webhooks import Delivery, FetchRequest, PendingFetch, VendorClient
from shared.ingest.webhooks.pending import FetchPendingEvent
from shared.ingest.webhooks.settings import FetchTarget, RateLimit

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def delivery(vendor: str, body: bytes, headers: dict[str, str]) -> Delivery:
    return Delivery(
        vendor=vendor,
        method="POST",
        headers=Headers(headers=headers),
        query={},
        body=body,
        received_at=NOW,
    )


def pending(vendor: str, request: FetchRequest, envelope: Any = None) -> PendingFetch:
    return FetchPendingEvent.create(
        vendor=vendor,
        source_id=request.source_id,
        delivery_id=request.delivery_id,
        params=request.params,
        envelope=envelope or {},
        received_at=NOW,
        producer="surveys",
    ).data


def client(
    vendor: str,
    respond: Callable[[httpx.Request], httpx.Response],
    *,
    headers: dict[str, str] | None = None,
    max_attempts: int = 3,
) -> VendorClient:
    target = FetchTarget(
        max_attempts=max_attempts,
        backoff_s=0.001,
        backoff_max_s=0.002,
        rate_limit=RateLimit(per_s=1000, burst=100),
    )
    return VendorClient(
        vendor,
        target,
        base_url="https://api.vendor.test/v3",
        headers=headers or {},
        transport=httpx.MockTransport(respond),
    )


def first_loc(exc: InvalidPayload) -> list[Any]:
    return cast(list[dict[str, Any]], exc.detail)[0]["loc"]  # type: ignore[no-any-return]
