"""Calling a vendor's API for the details its webhook leaves out: paced, retried, bounded."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx
import structlog

from shared.ingest.webhooks.metrics import WebhookMetrics
from shared.ingest.webhooks.ratelimit import TokenBucket
from shared.ingest.webhooks.settings import FetchTarget

log = structlog.get_logger(__name__)

# Worth another try: the vendor is busy, briefly broken, or throttling us.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class FetchFailed(Exception):
    """A fetch that did not succeed; `retryable` False means trying again cannot help."""

    def __init__(self, reason: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.status = status


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None


class VendorClient:
    """One vendor API: base URL and token from settings, a token bucket, retries with backoff.

    A fetch that still fails after `max_attempts` raises FetchFailed; the caller decides where
    the envelope goes (the fetch worker dead-letters it for an operator to replay).
    """

    def __init__(
        self,
        vendor: str,
        target: FetchTarget,
        *,
        base_url: str,
        headers: Mapping[str, str],
        metrics: WebhookMetrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.vendor = vendor
        self.target = target
        self.metrics = metrics
        self.bucket = TokenBucket(target.rate_limit.per_s, target.rate_limit.burst)
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers={"Accept": "application/json", **headers},
            timeout=target.timeout_s,
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.fetches.labels(self.vendor, outcome).inc()

    def _backoff(self, attempt: int) -> float:
        return min(self.target.backoff_max_s, self.target.backoff_s * 2 ** (attempt - 1))

    async def get_json(
        self,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        retry_statuses: frozenset[int] = RETRY_STATUSES,
    ) -> Any:
        """GET `path` (relative to the base URL) and return its JSON body."""
        failure = FetchFailed("no_attempt", retryable=True)
        for attempt in range(1, self.target.max_attempts + 1):
            await self.bucket.take()
            delay = self._backoff(attempt)
            try:
                response = await self._http.get(path.lstrip("/"), params=params)
            except httpx.TransportError as exc:  # timeouts, refused and reset connections
                failure = FetchFailed(type(exc).__name__, retryable=True)
            else:
                status = response.status_code
                if 200 <= status < 300:
                    try:
                        body = response.json()
                    except ValueError as exc:
                        self._count("failed")
                        raise FetchFailed("invalid_json", retryable=False, status=status) from exc
                    self._count("ok")
                    return body
                failure = FetchFailed(f"http_{status}", retryable=True, status=status)
                if status not in retry_statuses:
                    self._count("failed")
                    failure.retryable = False
                    raise failure
                delay = min(self.target.backoff_max_s, _retry_after(response) or delay)
            if attempt == self.target.max_attempts:
                break
            self._count("retried")
            log.info(
                "webhook.fetch_retry",
                vendor=self.vendor,
                reason=failure.reason,
                attempt=attempt,
                delay_s=delay,
            )
            await asyncio.sleep(delay)
        self._count("failed")
        raise failure
