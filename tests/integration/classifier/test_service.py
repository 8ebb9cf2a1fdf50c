"""The classifier against the real broker and the real NLP pipeline (built once per session)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from fastapi import FastAPI
from structlog.testing import capture_logs

from services.classifier.app import create_app
from services.classifier.nlp.pipeline import TextClassifier, build_classifier
from services.classifier.nlp.settings import NlpSettings
from services.classifier.settings import ClassifierSettings
from shared.embedded import free_port
from shared.events import (
    DLQ_TOPIC,
    EnrichedFeedbackEvent,
    Feedback,
    RawFeedbackEvent,
    SentimentLabel,
    SourceKind,
    SurveyPart,
)
from shared.ids import feedback_id_for
from shared.journey import load_journey
from shared.kafka import create_producer, encode_event
from shared.settings import KafkaSettings
from tests.helpers import consume_until, eventually

Record: TypeAlias = ConsumerRecord[bytes, bytes]
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def nlp_settings(tmp_path_factory: pytest.TempPathFactory) -> NlpSettings:
    return NlpSettings(cache_dir=tmp_path_factory.mktemp("classifier-cache"))


@pytest.fixture(scope="session")
def text_classifier(nlp_settings: NlpSettings) -> TextClassifier:
    # The first build expands the encoder and trains the heads into the cache (~30 s on 2 cores).
    return build_classifier(nlp_settings)


@dataclass(frozen=True)
class Topics:
    raw: str
    out: str
    group: str


@pytest.fixture
async def topics(admin: AIOKafkaAdminClient, unique: str) -> Topics:
    t = Topics(raw=f"test.raw.{unique}", out=f"test.enriched.{unique}", group=f"cls-{unique}")
    # One raw partition: records produced before start arrive in one fetch, i.e. one batch.
    await admin.create_topics([NewTopic(t.raw, 1, 1), NewTopic(t.out, 2, 1)])
    with contextlib.suppress(TopicAlreadyExistsError):
        await admin.create_topics([NewTopic(DLQ_TOPIC, 2, 1)])
    return t


@pytest.fixture
async def producer(kafka_settings: KafkaSettings) -> AsyncIterator[AIOKafkaProducer]:
    p = create_producer(kafka_settings, client_id="test-classifier")
    await p.start()
    yield p
    await p.stop()


def settings_for(
    kafka: KafkaSettings, t: Topics, nlp: NlpSettings, **overrides: Any
) -> ClassifierSettings:
    values: dict[str, Any] = {
        "kafka": kafka,
        "nlp": nlp,
        "input_topics": [t.raw],
        "output_topic": t.out,
        "group_id": t.group,
        "publish_timeout_s": 5,
        "shutdown_timeout_s": 20,
    }
    return ClassifierSettings(**(values | overrides))


def raw_event(source_id: str, text: str | None, **fields: Any) -> RawFeedbackEvent:
    now = datetime(2025, 5, 1, 9, tzinfo=UTC)
    fields.setdefault("source_kind", SourceKind.survey)
    fb = Feedback(
        feedback_id=feedback_id_for("it", source_id),
        source="it",
        source_id=source_id,
        revision="1",
        revision_rank=1,
        occurred_at=now,
        received_at=now,
        text=text,
        **fields,
    )
    return RawFeedbackEvent.wrap(fb, producer="test")


async def send(producer: AIOKafkaProducer, topic: str, events: list[RawFeedbackEvent]) -> int:
    """Produce and wait for acks; returns the offset after the last record (one partition)."""
    end = 0
    for event in events:
        key, value, headers = encode_event(event)
        meta = await producer.send_and_wait(topic, value, key=key, headers=headers, partition=0)
        end = meta.offset + 1
    return end


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan, plus a client for its side port; waits for readiness."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://classifier") as client:

            async def ready() -> int:
                return (await client.get("/readyz")).status_code

            await eventually(ready, lambda s: s == 200, timeout_s=30)
            yield client


async def committed(kafka: KafkaSettings, group: str, topic: str) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=group)
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(topic, 0))
    finally:
        await consumer.stop()


async def consume_matching(
    bootstrap: str, topic: str, match: Callable[[Record], bool], count: int, timeout_s: float = 30
) -> list[Record]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    got: list[Record] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(got) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                got.extend(r for r in records if match(r))
    finally:
        await consumer.stop()
    assert len(got) >= count, f"expected {count} matching records on {topic}, got {len(got)}"
    return got


async def consume_all(bootstrap: str, topic: str, quiet_s: float = 1.5) -> list[Record]:
    """Everything on `topic`: reads until nothing new arrived for `quiet_s` (proving absence
    needs a quiet period; there is no end offset to wait for on this broker)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    got: list[Record] = []
    try:
        last_new = time.monotonic()
        while time.monotonic() - last_new < quiet_s:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                got.extend(records)
                last_new = time.monotonic()
    finally:
        await consumer.stop()
    return got


def header(record: Record, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode()
    return None


def decode(records: list[Record]) -> dict[str, EnrichedFeedbackEvent]:
    events = [EnrichedFeedbackEvent.model_validate_json(r.value) for r in records]
    return {e.data.source_id: e for e in events}


class TestClassifierService:
    async def test_raw_feedback_comes_out_enriched(
        self,
        kafka_settings: KafkaSettings,
        topics: Topics,
        producer: AIOKafkaProducer,
        nlp_settings: NlpSettings,
        text_classifier: TextClassifier,
    ) -> None:
        events = [
            raw_event("en", "The parcel arrived two weeks late and the box was crushed. "
                      "Terrible service. Write to jane.doe@example.com"),
            raw_event("ru", "Посылка пришла вовремя, всё отлично, спасибо!",
                      metadata={"form_id": "checkout"}),
            raw_event("sv", "Kassan tog betalt två gånger för samma order, jag vill ha "
                      "pengarna tillbaka.", touchpoint="Billing"),
            raw_event("fa", "اپلیکیشن خیلی کند است و مدام بسته می‌شود",
                      source_kind=SourceKind.social),
            raw_event("nps-only", None, source_kind=SourceKind.survey,
                      survey=SurveyPart(nps=9)),
        ]  # fmt: skip
        app = create_app(
            settings_for(kafka_settings, topics, nlp_settings), classifier=text_classifier
        )
        async with running(app) as client:
            await send(producer, topics.raw, events)
            records = await consume_until(kafka_settings.bootstrap_servers, [topics.out], 5)
            metrics = (await client.get("/metrics")).text
            readiness = (await client.get("/readyz")).json()

        out = decode(records)
        assert set(out) == {"en", "ru", "sv", "fa", "nps-only"}
        for rec in records:
            event = EnrichedFeedbackEvent.model_validate_json(rec.value)
            assert rec.key == str(event.data.feedback_id).encode()
            assert header(rec, "ce_type") == EnrichedFeedbackEvent.TYPE
            assert event.data.text is None
        raw_ids = {e.data.source_id: e.event_id for e in events}
        assert {k: v.event_id for k, v in out.items()} == raw_ids

        en = out["en"].data.enrichment
        assert en.language == "en"
        assert en.sentiment is not None and en.sentiment.label is SentimentLabel.negative
        assert (en.touchpoint, en.journey_stage, en.touchpoint_rule) == (
            "delivery", "retention", "topic:delivery",
        )  # fmt: skip
        assert en.redacted_text is not None and "[EMAIL]" in en.redacted_text
        assert not any(b"jane.doe" in r.value for r in records)
        assert en.model_version == text_classifier.model_version

        ru = out["ru"].data.enrichment
        assert ru.language == "ru"
        assert ru.sentiment is not None and ru.sentiment.label is SentimentLabel.positive
        assert (ru.touchpoint, ru.journey_stage, ru.touchpoint_rule) == (
            "checkout", "conversion", "rule:checkout_form",
        )  # fmt: skip

        sv = out["sv"].data.enrichment
        assert (sv.language, sv.touchpoint, sv.touchpoint_rule) == ("sv", "billing", "explicit")
        assert sv.sentiment is not None

        fa = out["fa"].data.enrichment
        journey = load_journey()
        primary = fa.topics[0].label
        assert fa.language == "fa"
        assert fa.sentiment is not None
        assert fa.touchpoint_rule == f"topic:{primary.value}"
        assert fa.touchpoint == journey.topic_touchpoints[primary]

        bare = out["nps-only"].data.enrichment
        assert (bare.unscored, bare.unscored_reason, bare.sentiment) == (True, "no_text", None)
        assert (bare.touchpoint, bare.touchpoint_rule) == ("brand", "default")

        assert readiness["checks"] == {"model_loaded": True, "consumer_started": True}
        assert 'voc_classifier_texts_classified_total{language="ru"} 1.0' in metrics
        assert 'voc_classifier_unscored_total{reason="no_text"} 1.0' in metrics
        assert "voc_classifier_inference_seconds_count 1.0" in metrics

    async def test_poison_records_go_to_the_dlq_and_the_rest_of_the_batch_is_enriched(
        self,
        kafka_settings: KafkaSettings,
        topics: Topics,
        producer: AIOKafkaProducer,
        nlp_settings: NlpSettings,
        text_classifier: TextClassifier,
    ) -> None:
        good = [raw_event("ok-1", "Great support, thank you!"), raw_event("ok-2", "Too pricey.")]
        await send(producer, topics.raw, good[:1])
        await producer.send_and_wait(topics.raw, b'{"event_id": "oops', partition=0)
        await producer.send_and_wait(topics.raw, b'{"event_id": "not-a-uuid"}', partition=0)
        end = await send(producer, topics.raw, good[1:])

        app = create_app(
            settings_for(kafka_settings, topics, nlp_settings), classifier=text_classifier
        )
        async with running(app):
            out = await consume_until(kafka_settings.bootstrap_servers, [topics.out], 2)
            dead = await consume_matching(
                kafka_settings.bootstrap_servers, DLQ_TOPIC,
                lambda r: header(r, "dlq_source_topic") == topics.raw, 2,
            )  # fmt: skip
            await eventually(
                lambda: committed(kafka_settings, topics.group, topics.raw), lambda c: c == end
            )
            batches = app.state.registry.get_sample_value("voc_classifier_batch_size_records_count")

        assert set(decode(out)) == {"ok-1", "ok-2"}
        by_offset = {header(r, "dlq_source_offset"): r for r in dead}
        assert set(by_offset) == {"1", "2"}
        assert header(by_offset["1"], "dlq_reason") == "undecodable"
        assert header(by_offset["2"], "dlq_reason") == "invalid"
        assert "event_id" in (header(by_offset["2"], "dlq_error") or "")
        assert header(by_offset["2"], "dlq_consumer_group") == topics.group
        assert by_offset["1"].value == b'{"event_id": "oops'
        assert batches == 1  # all four records were one batch

    async def test_restart_in_the_same_group_neither_loses_nor_reemits(
        self,
        kafka_settings: KafkaSettings,
        topics: Topics,
        producer: AIOKafkaProducer,
        nlp_settings: NlpSettings,
        text_classifier: TextClassifier,
    ) -> None:
        first = [raw_event(f"a{i}", f"Delivery number {i} was late again.") for i in range(6)]
        second = [raw_event(f"b{i}", f"Checkout page {i} keeps crashing.") for i in range(4)]
        settings = settings_for(kafka_settings, topics, nlp_settings, max_batch=4)
        end = await send(producer, topics.raw, first)
        async with running(create_app(settings, classifier=text_classifier)):
            await consume_until(kafka_settings.bootstrap_servers, [topics.out], 6)
            await eventually(
                lambda: committed(kafka_settings, topics.group, topics.raw), lambda c: c == end
            )
        end = await send(producer, topics.raw, second)
        async with running(create_app(settings, classifier=text_classifier)):
            await consume_until(kafka_settings.bootstrap_servers, [topics.out], 10)
            await eventually(
                lambda: committed(kafka_settings, topics.group, topics.raw), lambda c: c == end
            )
        records = await consume_all(kafka_settings.bootstrap_servers, topics.out)

        # Both runs committed after their acks, so not even an at-least-once duplicate appears.
        ids = [EnrichedFeedbackEvent.model_validate_json(r.value).event_id for r in records]
        assert sorted(map(str, ids)) == sorted(str(e.event_id) for e in first + second)

    async def test_offsets_stay_uncommitted_while_publishing_fails(
        self,
        kafka_settings: KafkaSettings,
        topics: Topics,
        producer: AIOKafkaProducer,
        nlp_settings: NlpSettings,
        text_classifier: TextClassifier,
    ) -> None:
        events = [raw_event(f"p{i}", "Refund never arrived.") for i in range(3)]
        end = await send(producer, topics.raw, events)
        # The broker rejects writes to an invalid topic name: every publish of this batch fails.
        broken = settings_for(
            kafka_settings, topics, nlp_settings, output_topic="bad topic!", publish_timeout_s=1
        )
        app = create_app(broken, classifier=text_classifier)
        async with running(app):

            async def failures() -> float:
                value = app.state.registry.get_sample_value(
                    "voc_classifier_handler_errors_total", {"error": "BrokerUnavailable"}
                )
                return value or 0.0

            await eventually(failures, lambda n: n >= 2, timeout_s=30)
            assert await committed(kafka_settings, topics.group, topics.raw) is None
        assert await committed(kafka_settings, topics.group, topics.raw) is None

        async with running(
            create_app(
                settings_for(kafka_settings, topics, nlp_settings), classifier=text_classifier
            )
        ):
            records = await consume_until(kafka_settings.bootstrap_servers, [topics.out], 3)
            await eventually(
                lambda: committed(kafka_settings, topics.group, topics.raw), lambda c: c == end
            )
        assert set(decode(records)) == {"p0", "p1", "p2"}

    async def test_consumer_dying_unexpectedly_is_fatal(
        self,
        kafka_settings: KafkaSettings,
        topics: Topics,
        nlp_settings: NlpSettings,
        text_classifier: TextClassifier,
    ) -> None:
        fatal = asyncio.Event()
        app = create_app(
            settings_for(kafka_settings, topics, nlp_settings),
            classifier=text_classifier,
            on_fatal=fatal.set,
        )
        async with running(app) as client:
            consumer = app.state.classifier.worker.runner.consumer
            assert consumer is not None
            await consumer.stop()  # the consumer breaks under the running loop
            await asyncio.wait_for(fatal.wait(), timeout=10)
            readiness = await client.get("/readyz")
        assert app.state.classifier.failed
        assert readiness.status_code == 503

    async def test_unreachable_broker_keeps_it_unready_and_stops_promptly(
        self, topics: Topics, nlp_settings: NlpSettings, text_classifier: TextClassifier
    ) -> None:
        port = free_port()  # nothing listens there
        nowhere = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=1000)
        app = create_app(settings_for(nowhere, topics, nlp_settings), classifier=text_classifier)
        with capture_logs() as logs:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:

                    async def producer_failures() -> int:
                        return sum(e["event"] == "worker.producer_start_failed" for e in logs)

                    await eventually(producer_failures, lambda n: n >= 2)
                    health = await client.get("/healthz")
                    readiness = await client.get("/readyz")
                started = time.monotonic()
            stop_seconds = time.monotonic() - started
        assert health.status_code == 200
        assert readiness.status_code == 503
        assert readiness.json()["checks"] == {"model_loaded": True, "consumer_started": False}
        assert not app.state.classifier.failed
        assert stop_seconds < 5

    async def test_bad_journey_catalog_fails_at_start(
        self, kafka_settings: KafkaSettings, topics: Topics, nlp_settings: NlpSettings,
        tmp_path: Path,
    ) -> None:  # fmt: skip
        catalog = tmp_path / "journey.yaml"
        catalog.write_text(
            "version: 1\ntouchpoints: [{name: x, stage: nowhere, team: t}]\ndefault_touchpoint: x\n"
        )
        with pytest.raises(ValueError, match=r"touchpoints\.0\.stage"):
            create_app(settings_for(kafka_settings, topics, nlp_settings, journey_file=catalog))


class TestClassifierProcess:
    async def test_module_serves_probes_classifies_and_stops_on_sigterm(
        self,
        kafka_settings: KafkaSettings,
        topics: Topics,
        producer: AIOKafkaProducer,
        nlp_settings: NlpSettings,
        text_classifier: TextClassifier,  # the cache is built: the process only loads it
        tmp_path: Path,
    ) -> None:
        port = free_port()
        env = {
            **os.environ,
            "CLASSIFIER_KAFKA__BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
            "CLASSIFIER_KAFKA__SESSION_TIMEOUT_MS": "3000",
            "CLASSIFIER_KAFKA__HEARTBEAT_INTERVAL_MS": "300",
            "CLASSIFIER_KAFKA__FETCH_TIMEOUT_MS": "200",
            "CLASSIFIER_INPUT_TOPICS": topics.raw,
            "CLASSIFIER_OUTPUT_TOPIC": topics.out,
            "CLASSIFIER_GROUP_ID": topics.group,
            "CLASSIFIER_HTTP__PORT": str(port),
            "CLASSIFIER_NLP__CACHE_DIR": str(nlp_settings.cache_dir),
            "VOC_ENV": "test",
        }
        log_path = tmp_path / "classifier.log"
        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "services.classifier", cwd=ROOT, env=env,
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

                async def ready() -> int:
                    if proc.returncode is not None:
                        return -1
                    try:
                        return (await client.get("/readyz")).status_code
                    except httpx.TransportError:
                        return 0

                assert await eventually(ready, lambda s: s in (200, -1), timeout_s=120) == 200
                event = raw_event("proc", "Love it!", channel="ios")
                end = await send(producer, topics.raw, [event])
                records = await consume_until(kafka_settings.bootstrap_servers, [topics.out], 1)
                await eventually(
                    lambda: committed(kafka_settings, topics.group, topics.raw), lambda c: c == end
                )
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        output = log_path.read_text(errors="replace")
        enriched = decode(records)["proc"].data.enrichment
        assert (enriched.touchpoint, enriched.touchpoint_rule) == ("mobile_app", "rule:in_app")
        # uvicorn shuts down gracefully, then re-raises SIGTERM so supervisors see the signal.
        assert code in (0, -signal.SIGTERM), output[-3000:]
        assert "classifier.stopped" in output
