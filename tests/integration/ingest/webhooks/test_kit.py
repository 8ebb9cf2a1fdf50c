"""Kit behaviour every vendor shares: disabled vendors, rate limits, handshakes, broker down."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.surveys.app import create_app
from shared.embedded import free_port
from shared.ingest.webhooks.settings import RateLimit
from shared.settings import KafkaSettings
from tests.integration.ingest.conftest import running
from tests.integration.ingest.webhooks.conftest import (
    Surveys,
    VendorApi,
    metric,
    surveys_settings,
)
from tests.unit.ingest.webhooks import vendors


@pytest.fixture
async def strict(
    hooks_topics: KafkaSettings, vendor_api: VendorApi
) -> AsyncIterator[httpx.AsyncClient]:
    """Delighted limited to 2 deliveries at once, Typeform without a secret, SurveyMonkey with a
    secret but no API credentials."""
    settings = surveys_settings(
        hooks_topics,
        vendor_api,
        secrets={k: vendors.SECRETS[k] for k in ("delighted", "surveymonkey")},
        rate_limits={"delighted": RateLimit(per_s=0.01, burst=2)},
        fetch={},
    )
    async with running(create_app(settings)) as client:
        yield client


class TestWebhookKit:
    async def test_vendor_without_a_secret_is_404_disabled_even_when_signed(
        self, strict: httpx.AsyncClient
    ) -> None:
        body = vendors.dumps(vendors.typeform())
        response = await strict.post(
            "/v1/webhooks/typeform", content=body, headers=vendors.typeform_headers(body)
        )
        assert response.status_code == 404
        assert response.json()["error"] == "vendor_disabled"

    async def test_fetch_vendor_without_api_credentials_is_disabled(
        self, strict: httpx.AsyncClient
    ) -> None:
        body = vendors.dumps(vendors.surveymonkey_event())
        response = await strict.post(
            "/v1/webhooks/surveymonkey", content=body, headers=vendors.surveymonkey_headers(body)
        )
        assert response.status_code == 404
        assert response.json()["error"] == "vendor_disabled"

    async def test_over_the_rate_limit_is_429_with_retry_after(
        self, strict: httpx.AsyncClient, unique: str
    ) -> None:
        statuses = []
        for n in range(3):
            body = vendors.dumps(vendors.delighted(f"rl-{unique}-{n}"))
            response = await strict.post(
                "/v1/webhooks/delighted", content=body, headers=vendors.bearer()
            )
            statuses.append(response.status_code)
        assert statuses == [202, 202, 429]
        assert int(response.headers["retry-after"]) >= 1
        assert response.json()["error"] == "rate_limited"
        assert (
            await metric(
                strict,
                "voc_surveys_webhook_rejected_total",
                vendor="delighted",
                reason="rate_limited",
            )
            == 1
        )

    async def test_unauthenticated_floods_do_not_use_up_the_vendors_budget(
        self, strict: httpx.AsyncClient, unique: str
    ) -> None:
        body = vendors.dumps(vendors.delighted(f"flood-{unique}"))
        for _ in range(5):
            refused = await strict.post(
                "/v1/webhooks/delighted", content=body, headers=vendors.bearer("x")
            )
            assert refused.status_code == 401
        accepted = await strict.post(
            "/v1/webhooks/delighted", content=body, headers=vendors.bearer()
        )
        assert accepted.status_code == 202

    async def test_handshakes_answer_per_vendor(self, surveys: Surveys) -> None:
        qualtrics = await surveys.client.get("/v1/webhooks/qualtrics")
        surveymonkey = await surveys.client.head("/v1/webhooks/surveymonkey")
        typeform = await surveys.client.get("/v1/webhooks/typeform")
        assert (qualtrics.status_code, qualtrics.json()) == (200, {"status": "ok"})
        assert surveymonkey.status_code == 200
        assert typeform.status_code == 405

    async def test_broker_down_is_503_with_retry_after(self, vendor_api: VendorApi) -> None:
        kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}", request_timeout_ms=1000)
        settings = surveys_settings(kafka, vendor_api, fetch={})
        settings.startup_wait_s = 0.2
        async with running(create_app(settings)) as client:
            body = vendors.dumps(vendors.delighted())
            response = await client.post(
                "/v1/webhooks/delighted", content=body, headers=vendors.bearer()
            )
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
