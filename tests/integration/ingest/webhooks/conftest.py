"""The surveys service with its vendor webhooks on, a broker of its own, and a local vendor API.

The vendor API is a real HTTP server on a free port serving the documented response shapes
(SurveyMonkey response details, Qualtrics single response); tests choose what each path answers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from pydantic import SecretStr

from services.surveys.app import create_app
from services.surveys.settings import SurveysSettings
from shared.embedded import EmbeddedBroker, free_port
from shared.events import DLQ_TOPIC, RawFeedbackEvent
from shared.ingest.webhooks.pending import FetchPendingEvent
from shared.ingest.webhooks.settings import FetchTarget, RateLimit, WebhookSettings
from shared.kafka import ensure_topics
from shared.settings import KafkaSettings
from tests.integration.ingest.conftest import running
from tests.unit.ingest.webhooks import vendors

SURVEY_TOPIC = RawFeedbackEvent.topic_for("survey")
MAX_WEBHOOK_BODY = 64 * 1024


@dataclass
class VendorApi:
    """Path → the responses it gives in turn (the last one repeats), and what was asked."""

    base_url: str
    routes: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, path: str, *responses: tuple[int, Any]) -> None:
        with self.lock:
            self.routes[path] = list(responses)

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, Any]:
        with self.lock:
            self.seen.append((path, headers))
            queue = self.routes.get(path)
            if not queue:
                return 404, {"error": {"message": "Resource not found"}}
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def calls(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _ in self.seen if p == path)


@pytest.fixture(scope="package")
def vendor_api() -> Iterator[VendorApi]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), BaseHTTPRequestHandler)
    api = VendorApi(base_url=f"http://127.0.0.1:{server.server_port}")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = api.answer(self.path, {k.lower(): v for k, v in self.headers.items()})
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield api
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="package")
def hooks_kafka() -> Iterator[KafkaSettings]:
    # A broker of their own: the raw topics' names are fixed, and the canonical-endpoint tests
    # count every record on them.
    broker = EmbeddedBroker(free_port()).start()
    yield KafkaSettings(
        bootstrap_servers=broker.bootstrap,
        request_timeout_ms=5000,
        session_timeout_ms=3000,
        heartbeat_interval_ms=300,
        fetch_timeout_ms=200,
        linger_ms=1,
        commit_timeout_s=5,
    )
    broker.stop()


@pytest.fixture(scope="package")
async def hooks_topics(hooks_kafka: KafkaSettings) -> KafkaSettings:
    await ensure_topics(
        hooks_kafka, topics=[SURVEY_TOPIC, FetchPendingEvent.TOPIC, DLQ_TOPIC], partitions=2
    )
    return hooks_kafka


def surveys_settings(kafka: KafkaSettings, api: VendorApi, **hooks: Any) -> SurveysSettings:
    fetch = {
        vendor: FetchTarget(
            base_url=f"{api.base_url}/{vendor}/v3",
            token=SecretStr(f"{vendor}-api-token"),
            max_attempts=2,
            backoff_s=0.05,
            backoff_max_s=0.1,
            rate_limit=RateLimit(per_s=100, burst=20),
        )
        for vendor in ("surveymonkey", "qualtrics")
    }
    webhooks = {
        "secrets": {k: SecretStr(v) for k, v in vendors.SECRETS.items()},
        "max_body_bytes": MAX_WEBHOOK_BODY,
        "fetch": fetch,
        **hooks,
    }
    return SurveysSettings(
        kafka=kafka,
        startup_wait_s=5.0,
        connect_retry_max_s=0.5,
        shutdown_timeout_s=5.0,
        webhooks=WebhookSettings.model_validate(webhooks),
        typeform_forms=vendors.TYPEFORM_FORMS,
        surveymonkey_surveys=vendors.SM_SURVEYS,
        qualtrics_surveys=vendors.QX_SURVEYS,
    )


@dataclass
class Surveys:
    client: httpx.AsyncClient
    kafka: KafkaSettings
    api: VendorApi

    async def post(self, vendor: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post(f"/v1/webhooks/{vendor}", content=body, headers=headers)

    async def metric(self, name: str, **labels: str) -> float:
        return await metric(self.client, name, **labels)


async def metric(client: httpx.AsyncClient, name: str, **labels: str) -> float:
    text = (await client.get("/metrics")).text
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series.startswith(name + "{"):
            present = series[len(name) + 1 : -1].split(",")
            if sorted(present) == wanted.split(","):
                return float(value)
    return 0.0


@pytest.fixture(scope="package")
async def surveys(hooks_topics: KafkaSettings, vendor_api: VendorApi) -> AsyncIterator[Surveys]:
    settings = surveys_settings(
        hooks_topics, vendor_api, fetch_group_id=f"surveys-fetch-{time.monotonic_ns()}"
    )
    async with running(create_app(settings)) as client:
        yield Surveys(client, hooks_topics, vendor_api)


async def records_where(
    kafka: KafkaSettings,
    topic: str,
    match: Callable[[ConsumerRecord], bool],  # type: ignore[type-arg]
    count: int = 1,
    timeout_s: float = 30.0,
) -> list[ConsumerRecord]:  # type: ignore[type-arg]
    """Read `topic` from the start (no group) until `count` records match, in offset order."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[ConsumerRecord] = []  # type: ignore[type-arg]
    try:
        deadline = time.monotonic() + timeout_s
        while len(found) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            found.extend(r for part in batch.values() for r in part if match(r))
    finally:
        await consumer.stop()
    if len(found) < count:
        raise AssertionError(f"expected {count} matching records on {topic}, got {len(found)}")
    return sorted(found, key=lambda r: (r.partition, r.offset))


def with_ids(*event_ids: str) -> Callable[[ConsumerRecord], bool]:  # type: ignore[type-arg]
    wanted = {e.encode() for e in event_ids}
    return lambda r: dict(r.headers).get("ce_id") in wanted


def of_item(source: str, source_id: str) -> Callable[[ConsumerRecord], bool]:  # type: ignore[type-arg]
    def match(record: ConsumerRecord) -> bool:  # type: ignore[type-arg]
        data = RawFeedbackEvent.model_validate_json(record.value).data
        return (data.source, data.source_id) == (source, source_id)

    return match


def decode(record: ConsumerRecord) -> RawFeedbackEvent:  # type: ignore[type-arg]
    return RawFeedbackEvent.model_validate_json(record.value)
