"""Vendor API client: retries what can succeed later, gives up on what cannot, then reports."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import CollectorRegistry

from shared.ingest.webhooks.fetch import FetchFailed, VendorClient
from shared.ingest.webhooks.metrics import WebhookMetrics
from shared.ingest.webhooks.settings import FetchTarget, RateLimit


def _client(
    statuses: list[int], calls: list[httpx.Request], metrics: WebhookMetrics | None = None
) -> VendorClient:
    def respond(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        status = statuses[min(len(calls), len(statuses)) - 1]
        if status == 0:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status, json={"n": len(calls)})

    target = FetchTarget(
        max_attempts=3, backoff_s=0.001, backoff_max_s=0.002, rate_limit=RateLimit(per_s=1e4)
    )
    return VendorClient(
        "acme",
        target,
        base_url="https://api.acme.test/v3/",
        headers={"Authorization": "Bearer t"},
        metrics=metrics,
        transport=httpx.MockTransport(respond),
    )


def _count(registry: CollectorRegistry, outcome: str) -> float:
    value = registry.get_sample_value(
        "voc_surveys_webhook_fetch_requests_total", {"vendor": "acme", "outcome": outcome}
    )
    return value or 0.0


class TestVendorClient:
    async def test_transient_failures_are_retried_until_success(self) -> None:
        calls: list[httpx.Request] = []
        registry = CollectorRegistry()
        api = _client([503, 0, 200], calls, WebhookMetrics("surveys", registry))
        assert await api.get_json("/things/1") == {"n": 3}
        assert [str(c.url) for c in calls] == ["https://api.acme.test/v3/things/1"] * 3
        assert calls[0].headers["authorization"] == "Bearer t"
        assert (_count(registry, "retried"), _count(registry, "ok")) == (2, 1)

    async def test_failure_after_the_last_attempt_is_retryable(self) -> None:
        calls: list[httpx.Request] = []
        api = _client([500], calls)
        with pytest.raises(FetchFailed) as exc:
            await api.get_json("things/1")
        assert len(calls) == 3
        assert (exc.value.reason, exc.value.retryable, exc.value.status) == ("http_500", True, 500)

    async def test_client_errors_are_not_retried(self) -> None:
        calls: list[httpx.Request] = []
        api = _client([401], calls)
        with pytest.raises(FetchFailed) as exc:
            await api.get_json("things/1")
        assert len(calls) == 1 and exc.value.retryable is False

    async def test_not_found_is_retried_when_the_caller_says_so(self) -> None:
        calls: list[httpx.Request] = []
        api = _client([404, 200], calls)
        assert await api.get_json("things/1", retry_statuses=frozenset({404})) == {"n": 2}

    async def test_body_that_is_not_json_fails_for_good(self) -> None:
        def respond(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, content=b"<html>maintenance</html>")

        api = VendorClient(
            "acme",
            FetchTarget(),
            base_url="https://api.acme.test",
            headers={},
            transport=httpx.MockTransport(respond),
        )
        with pytest.raises(FetchFailed) as exc:
            await api.get_json("x")
        assert (exc.value.reason, exc.value.retryable) == ("invalid_json", False)
