"""The notification counter says whose webhook: one pass over due notifications of several teams,
with the outbox faked (the SQL is covered by the integration tests) and the receivers answering
through httpx's MockTransport."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from services.metrics.alerts import notifier as notifier_module
from services.metrics.alerts.notifier import Notifier
from services.metrics.settings import AlertSettings
from services.metrics.telemetry import AlertMetrics

SECRET = "s3cret-for-tests-0123456789"
# Each team's receiver answers with this status.
ANSWERS = {"ecommerce": 200, "logistics": 410, "unowned": 503}
COUNTER = "voc_metrics_alert_notifications_total"


class _Null:
    """An async context manager that does nothing: the session, its transaction."""

    async def __aenter__(self) -> _Null:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def begin(self) -> _Null:
        return self


def fake_sessions() -> _Null:
    return _Null()


def row(team: str, event: str) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "event": event, "team": team, "payload": {}, "attempts": 0}


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The due rows claim_pending hands out; what record_attempt/skip were told lands in it."""
    due = [row("ecommerce", "opened"), row("logistics", "opened"), row("logistics", "resolved"),
           row("unowned", "opened"), row("no-webhook", "opened")]  # fmt: skip
    recorded: list[dict[str, Any]] = []

    async def claim_pending(session: Any, limit: int) -> list[dict[str, Any]]:
        return due

    async def record_attempt(session: Any, delivery_id: uuid.UUID, **kw: Any) -> None:
        recorded.append({"id": delivery_id, **kw})

    async def skip(session: Any, delivery_id: uuid.UUID) -> None:
        recorded.append({"id": delivery_id, "status": "skipped"})

    monkeypatch.setattr(notifier_module.repository, "claim_pending", claim_pending)
    monkeypatch.setattr(notifier_module.repository, "record_attempt", record_attempt)
    monkeypatch.setattr(notifier_module.repository, "skip", skip)
    return recorded


def answer(request: httpx.Request) -> httpx.Response:
    team = request.url.path.rsplit("/", 1)[-1]
    return httpx.Response(ANSWERS[team])


class TestNotificationCounter:
    async def test_counts_each_attempt_under_its_team_event_and_outcome(
        self, outbox: list[dict[str, Any]]
    ) -> None:
        webhooks = {t: {"url": f"http://hooks.test/{t}", "secret": SECRET} for t in ANSWERS}
        settings = AlertSettings.model_validate({"webhooks": webhooks})
        registry = CollectorRegistry()
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            notifier = Notifier(settings, fake_sessions, AlertMetrics(registry), client)  # type: ignore[arg-type]
            assert await notifier.deliver_due() == 5

        counted = {
            (s.labels["team"], s.labels["event"], s.labels["outcome"]): s.value
            for metric in registry.collect()
            if metric.name == COUNTER.removesuffix("_total")
            for s in metric.samples
            if s.name == COUNTER
        }
        assert counted == {
            ("ecommerce", "opened", "sent"): 1.0,
            ("logistics", "opened", "failed"): 1.0,  # 410 is final
            ("logistics", "resolved", "failed"): 1.0,
            ("unowned", "opened", "retried"): 1.0,
        }
        # The team without a webhook is skipped and counted nowhere.
        assert [r["status"] for r in outbox] == [
            "delivered", "failed", "failed", "pending", "skipped",
        ]  # fmt: skip
