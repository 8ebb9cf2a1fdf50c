"""Alert webhooks against a real local HTTP receiver: a signed POST per alert change (the HMAC
checked here, independently), retries on 503 until delivered, giving up, Retry-After, no webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics.alerts.evaluator import Evaluator
from services.metrics.alerts.notifier import Notifier
from services.metrics.settings import AlertSettings
from services.metrics.telemetry import AlertMetrics
from shared.db import create_sessionmaker
from shared.journey import load_journey
from tests.helpers import eventually
from tests.integration.metrics.test_alerts import (
    NOW,
    WINDOW_BUCKET,
    notification_rows,
    seed_drop,
    seed_nps,
    shift,
)

SECRET = "s3cret-for-tests-0123456789"


class Receiver:
    """A webhook receiver on a free local port; answers from `script`, then 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status, headers = receiver.script.pop(0) if receiver.script else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/voc"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def verify(headers: dict[str, str], body: bytes, secret: str) -> bool:
    """What a receiver does: recompute HMAC-SHA256 over "<t>.<body>" and compare."""
    parts = dict(item.split("=", 1) for item in headers["x-voc-signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts["v1"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def settings_for(receiver: Receiver, url: str | None = None, **overrides: Any) -> AlertSettings:
    webhooks = {"ecommerce": {"url": url or receiver.url, "secret": SECRET}}
    return AlertSettings.model_validate(
        {"webhooks": webhooks, "backoff_base_s": 0.01, "backoff_max_s": 0.05, **overrides}
    )


class Pipeline:
    def __init__(
        self, engine: AsyncEngine, settings: AlertSettings, client: httpx.AsyncClient
    ) -> None:
        self.registry = CollectorRegistry()
        metrics = AlertMetrics(self.registry)
        sessions = create_sessionmaker(engine)
        self.evaluator = Evaluator(settings, sessions, load_journey(), metrics, lambda: NOW)
        self.notifier = Notifier(settings, sessions, metrics, client)
        self.engine = engine

    async def settle(self, event: str = "opened") -> dict[str, Any]:
        """Deliver until the notification of `event` is no longer pending; its row."""

        async def probe() -> dict[str, Any]:
            await self.notifier.deliver_due()
            rows = await notification_rows(self.engine)
            return next(r for r in rows if r["event"] == event)

        return await eventually(probe, lambda r: r["status"] != "pending", interval_s=0.05)

    def count(self, outcome: str, event: str = "opened", team: str = "ecommerce") -> float | None:
        return self.registry.get_sample_value(
            "voc_metrics_alert_notifications_total",
            {"team": team, "event": event, "outcome": outcome},
        )


class TestWebhooks:
    async def test_opened_and_resolved_are_posted_signed_with_the_team_secret(
        self, engine: AsyncEngine, receiver: Receiver, client: httpx.AsyncClient
    ) -> None:
        p = Pipeline(engine, settings_for(receiver), client)
        await seed_drop(engine)
        await p.evaluator.evaluate_once()
        row = await p.settle("opened")
        await seed_nps(engine, shift(WINDOW_BUCKET, 1), 70, 0, 0)
        await p.evaluator.evaluate_once()
        await p.settle("resolved")
        assert row["status"] == "delivered" and row["attempts"] == 1
        assert len(receiver.requests) == 2
        for headers, body in receiver.requests:
            assert verify(headers, body, SECRET)
            assert not verify(headers, body, "another-secret-0123456789")
            assert headers["content-type"] == "application/json"
        (h_open, b_open), (_, b_resolved) = receiver.requests
        opened, resolved = json.loads(b_open), json.loads(b_resolved)
        assert h_open["x-voc-delivery"] == str(row["id"]) == opened["delivery_id"]
        assert (opened["event"], resolved["event"]) == ("opened", "resolved")
        assert opened["team"] == "ecommerce"
        assert opened["touchpoint"] == {"name": "checkout", "journey_stage": "conversion"}
        assert opened["alert"]["metric"] == "nps" and opened["alert"]["status"] == "open"
        assert opened["alert"]["window_value"] == pytest.approx(-10.0)
        assert resolved["alert"]["status"] == "resolved"
        assert resolved["alert"]["resolved_at"] == NOW.isoformat()
        assert opened["links"]["alerts"].endswith(
            "/v1/alerts?touchpoint=checkout&metric=nps&status=all"
        )
        assert "/v1/scores/compare?touchpoint=checkout&metric=nps" in opened["links"]["compare"]
        signed_at = int(dict(i.split("=", 1) for i in h_open["x-voc-signature"].split(","))["t"])
        assert abs(signed_at - datetime.now().timestamp()) < 3600
        assert p.count("sent") == 1 and p.count("sent", "resolved") == 1

    async def test_a_receiver_failing_twice_with_503_is_retried_until_delivered(
        self, engine: AsyncEngine, receiver: Receiver, client: httpx.AsyncClient
    ) -> None:
        receiver.script = [(503, {}), (503, {})]
        p = Pipeline(engine, settings_for(receiver), client)
        await seed_drop(engine)
        await p.evaluator.evaluate_once()
        row = await p.settle()
        assert (row["status"], row["attempts"], row["last_status_code"]) == ("delivered", 3, 200)
        assert len(receiver.requests) == 3
        # Every try is the same delivery (receivers dedupe on it), each freshly signed.
        assert len({h["x-voc-delivery"] for h, _ in receiver.requests}) == 1
        assert all(verify(h, b, SECRET) for h, b in receiver.requests)
        assert (p.count("retried"), p.count("sent")) == (2, 1)

    async def test_gives_up_after_max_attempts_and_marks_it_failed(
        self, engine: AsyncEngine, receiver: Receiver, client: httpx.AsyncClient
    ) -> None:
        receiver.script = [(500, {})] * 5
        p = Pipeline(engine, settings_for(receiver, max_attempts=3), client)
        await seed_drop(engine)
        await p.evaluator.evaluate_once()
        row = await p.settle()
        assert (row["status"], row["attempts"], row["last_status_code"]) == ("failed", 3, 500)
        assert row["finished_at"] is not None
        assert len(receiver.requests) == 3
        assert (p.count("retried"), p.count("failed")) == (2, 1)

    async def test_a_client_error_is_final(
        self, engine: AsyncEngine, receiver: Receiver, client: httpx.AsyncClient
    ) -> None:
        receiver.script = [(400, {})]
        p = Pipeline(engine, settings_for(receiver), client)
        await seed_drop(engine)
        await p.evaluator.evaluate_once()
        row = await p.settle()
        assert (row["status"], row["attempts"]) == ("failed", 1)
        assert len(receiver.requests) == 1

    async def test_an_unreachable_receiver_is_retried(
        self, engine: AsyncEngine, receiver: Receiver, client: httpx.AsyncClient
    ) -> None:
        # Port 9 (discard) has no listener here: the connection is refused.
        settings = settings_for(receiver, url="http://127.0.0.1:9/closed", max_attempts=2)
        p = Pipeline(engine, settings, client)
        await seed_drop(engine)
        await p.evaluator.evaluate_once()
        row = await p.settle()
        assert (row["status"], row["attempts"], row["last_status_code"]) == ("failed", 2, None)
        assert row["last_error"] == "ConnectError"

    async def test_429_waits_as_long_as_retry_after_says(
        self, engine: AsyncEngine, receiver: Receiver, client: httpx.AsyncClient
    ) -> None:
        receiver.script = [(429, {"Retry-After": "30"})]
        p = Pipeline(engine, settings_for(receiver, backoff_max_s=60), client)
        await seed_drop(engine)
        await p.evaluator.evaluate_once()
        async with engine.connect() as conn:
            before = (await conn.execute(text("SELECT clock_timestamp()"))).scalar_one()
        assert await p.notifier.deliver_due() == 1
        [row] = await notification_rows(engine)
        assert (row["status"], row["attempts"], row["last_status_code"]) == ("pending", 1, 429)
        assert (row["next_attempt_at"] - before).total_seconds() >= 30
        assert await p.notifier.deliver_due() == 0  # not due yet
        assert len(receiver.requests) == 1

    async def test_a_team_without_a_webhook_gets_nothing(
        self, engine: AsyncEngine, receiver: Receiver, client: httpx.AsyncClient
    ) -> None:
        p = Pipeline(engine, AlertSettings(), client)
        await seed_drop(engine)
        await p.evaluator.evaluate_once()
        assert await p.notifier.deliver_due() == 0
        [row] = await notification_rows(engine)
        assert row["status"] == "skipped"
        assert receiver.requests == []
