"""Health endpoints, and what the services do while the broker is away."""

from __future__ import annotations

import time

import pytest

from shared.embedded import EmbeddedBroker, free_port
from shared.events import RawFeedbackEvent
from shared.kafka import ensure_topics
from tests.helpers import eventually
from tests.integration.ingest.conftest import (
    SPECS,
    Service,
    ServiceSpec,
    ingest_settings,
    kafka_settings_for,
    running,
)

SURVEYS = SPECS[0]
FAST_ANSWER_S = 2.0


class TestOps:
    async def test_healthz_answers_ok(self, service: Service) -> None:
        response = await service.client.get("/healthz")
        assert (response.status_code, response.json()) == (200, {"status": "ok"})

    async def test_readyz_reports_the_broker_connected(self, service: Service) -> None:
        response = await service.client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {"status": "ready", "checks": {"broker": True}}

    async def test_metrics_are_prometheus_text_of_this_service(self, service: Service) -> None:
        response = await service.client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert f"# TYPE voc_{service.spec.name}_requests_rejected_total counter" in response.text


class TestBrokerUnreachable:
    @pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
    async def test_post_answers_503_with_retry_after_fast(
        self, spec: ServiceSpec, unique: str
    ) -> None:
        closed = kafka_settings_for(f"127.0.0.1:{free_port()}")
        started = time.perf_counter()
        async with running(spec.create_app(ingest_settings(spec, closed))) as client:
            assert time.perf_counter() - started < FAST_ANSWER_S  # startup does not wait it out
            sent = time.perf_counter()
            response = await client.post(spec.path, json=spec.item(f"down-{unique}"))
            elapsed = time.perf_counter() - sent
            ready = await client.get("/readyz")
            metrics = (await client.get("/metrics")).text

        assert response.status_code == 503
        assert response.json()["error"] == "broker_unavailable"
        assert int(response.headers["Retry-After"]) >= 1
        assert elapsed < FAST_ANSWER_S
        assert (ready.status_code, ready.json()["checks"]) == (503, {"broker": False})
        rejected = f'voc_{spec.name}_requests_rejected_total{{reason="broker_unavailable"}} 1.0'
        assert rejected in metrics

    async def test_service_connects_once_the_broker_comes_up(self, unique: str) -> None:
        port = free_port()
        kafka = kafka_settings_for(f"127.0.0.1:{port}")
        broker = EmbeddedBroker(port)
        try:
            async with running(SURVEYS.create_app(ingest_settings(SURVEYS, kafka))) as client:
                before = await client.get("/readyz")
                broker.start()
                await ensure_topics(kafka, topics=RawFeedbackEvent.topics())
                await eventually(lambda: client.get("/readyz"), lambda r: r.status_code == 200)
                response = await client.post(SURVEYS.path, json=SURVEYS.item(f"late-{unique}"))
        finally:
            broker.stop()

        assert before.status_code == 503
        assert response.status_code == 202, response.text

    async def test_broker_lost_after_start_answers_503_within_publish_timeout(
        self, unique: str
    ) -> None:
        broker = EmbeddedBroker(free_port()).start()
        # The write that timed out stays pending until request_timeout_ms expires it; shutdown
        # gives up flushing after shutdown_timeout_s and closes the producer once it expired.
        kafka = kafka_settings_for(broker.bootstrap).model_copy(update={"request_timeout_ms": 2000})
        settings = ingest_settings(SURVEYS, kafka, shutdown_timeout_s=0.5)
        try:
            await ensure_topics(kafka, topics=RawFeedbackEvent.topics())
            async with running(SURVEYS.create_app(settings)) as client:
                ok = await client.post(SURVEYS.path, json=SURVEYS.item(f"up-{unique}"))
                _crash(broker)
                sent = time.perf_counter()
                lost = await client.post(SURVEYS.path, json=SURVEYS.item(f"gone-{unique}"))
                elapsed = time.perf_counter() - sent
                ready = await client.get("/readyz")
        finally:
            broker.stop()

        assert ok.status_code == 202
        assert lost.status_code == 503
        assert "Retry-After" in lost.headers
        assert elapsed < FAST_ANSWER_S
        assert ready.status_code == 503


def _crash(broker: EmbeddedBroker) -> None:
    assert broker.proc is not None
    broker.proc.kill()
    broker.proc.wait()
