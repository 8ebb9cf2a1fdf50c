"""The service as deployed: the side HTTP app's lifespan, and `python -m services.metrics`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics.app import create_app
from services.metrics.settings import MetricsSettings
from shared.embedded import free_port
from tests.helpers import eventually
from tests.integration.metrics.support import fact_rows, produce
from tests.unit.metrics.factories import enriched

REPO = Path(__file__).resolve().parents[3]


class Fatal:
    def __init__(self) -> None:
        self.called = asyncio.Event()

    def __call__(self) -> None:
        self.called.set()


@pytest.fixture
def fatal() -> Fatal:
    return Fatal()


@pytest.fixture
async def app(metrics_settings: MetricsSettings, fatal: Fatal) -> AsyncIterator[FastAPI]:
    application = create_app(metrics_settings, on_fatal=fatal)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://metrics") as c:
        yield c


async def _ready(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get("/readyz")


class TestApp:
    async def test_ready_once_consumer_started_and_writes_are_exported_as_metrics(
        self,
        client: httpx.AsyncClient,
        producer: AIOKafkaProducer,
        topic: str,
        engine: AsyncEngine,
    ) -> None:
        ready = await eventually(lambda: _ready(client), lambda r: r.status_code == 200)
        assert ready.json()["checks"] == {"database": True, "consumer": True}
        await produce(producer, topic, [enriched(nps=10), enriched(nps=10)])
        await eventually(lambda: fact_rows(engine), lambda f: len(f) == 1)
        text = (await client.get("/metrics")).text
        assert 'voc_metrics_facts_written_total{outcome="inserted"} 1.0' in text
        assert "voc_metrics_transaction_seconds_count" in text
        assert "voc_metrics_events_consumed_total" in text

    async def test_healthz_answers_before_the_consumer_is_ready(
        self, client: httpx.AsyncClient
    ) -> None:
        assert (await client.get("/healthz")).json() == {"status": "ok"}

    async def test_consumer_dying_is_fatal_and_unready(
        self, app: FastAPI, client: httpx.AsyncClient, fatal: Fatal
    ) -> None:
        await eventually(lambda: _ready(client), lambda r: r.status_code == 200)
        runner = app.state.worker.runner

        async def broken(*args: object, **kwargs: object) -> dict[object, object]:
            raise RuntimeError("unexpected")

        runner.consumer.getmany = broken  # an unexpected bug inside the consumer loop
        await asyncio.wait_for(fatal.called.wait(), 10)
        response = await _ready(client)
        assert response.status_code == 503
        assert response.json()["checks"]["consumer"] is False
        assert app.state.worker.failed is True


class TestMain:
    async def test_process_serves_ops_port_and_stops_gracefully_on_sigterm(
        self,
        metrics_settings: MetricsSettings,
        producer: AIOKafkaProducer,
        topic: str,
        engine: AsyncEngine,
    ) -> None:
        port = free_port()
        k = metrics_settings.kafka
        env = {
            **{n: v for n, v in os.environ.items() if not n.startswith(("METRICS_", "VOC_"))},
            "PYTHONPATH": str(REPO),
            "VOC_ENV": "test",
            "METRICS_HTTP__PORT": str(port),
            "METRICS_KAFKA__BOOTSTRAP_SERVERS": k.bootstrap_servers,
            "METRICS_KAFKA__SESSION_TIMEOUT_MS": str(k.session_timeout_ms),
            "METRICS_KAFKA__HEARTBEAT_INTERVAL_MS": str(k.heartbeat_interval_ms),
            "METRICS_DATABASE__URL": metrics_settings.database.url,
            "METRICS_GROUP_ID": metrics_settings.group_id,
            "METRICS_TOPICS": json.dumps(metrics_settings.topics),
        }
        proc = subprocess.Popen(  # noqa: ASYNC220 - waited on in a thread below
            [sys.executable, "-m", "services.metrics"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

                async def probe() -> int:
                    try:
                        return (await client.get("/readyz")).status_code
                    except httpx.TransportError:
                        return 0

                await eventually(probe, lambda s: s == 200, timeout_s=30)
            await produce(producer, topic, [enriched(stars=4, kind="review")])
            await eventually(lambda: fact_rows(engine), lambda f: len(f) == 1)
            proc.send_signal(signal.SIGTERM)
            rc = await asyncio.to_thread(proc.wait, 30)
        finally:
            if proc.poll() is None:
                proc.kill()
        output = proc.stdout.read().decode() if proc.stdout else ""
        # uvicorn re-raises the captured SIGTERM once shutdown is done, so the exit status says
        # "terminated by SIGTERM" (143 in a shell), which supervisors treat as a clean stop.
        assert rc in (0, -signal.SIGTERM), output[-3000:]
        assert output.index('"consumer.stopped"') < output.index('"metrics.stopped"')
