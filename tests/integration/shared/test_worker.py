"""ConsumerWorker against the real broker: producer retries, supervision, graceful stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import ProducerClosed
from prometheus_client import CollectorRegistry
from pydantic import BaseModel
from structlog.testing import capture_logs

from shared.consumer import Consumed, KafkaRunner, Rejected
from shared.embedded import EmbeddedBroker, free_port
from shared.settings import KafkaSettings
from shared.telemetry import ConsumerMetrics
from shared.worker import ConsumerWorker
from tests.helpers import eventually

RECORDS = 3


class Ping(BaseModel):
    n: int


@dataclass
class Handler:
    """Records what it handled; while `gate` is closed a batch stays in flight."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    handled: list[int] = field(default_factory=list)

    async def __call__(self, batch: list[Consumed[Ping]]) -> Sequence[Rejected]:
        self.entered.set()
        await self.gate.wait()
        self.handled.extend(c.event.n for c in batch)
        return []


@dataclass
class Fatal:
    calls: int = 0
    called: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self) -> None:
        self.calls += 1
        self.called.set()


@dataclass(frozen=True)
class Topic:
    name: str
    group: str


@pytest.fixture
async def topic(admin: AIOKafkaAdminClient, unique: str) -> Topic:
    # One partition: everything produced before the start arrives as one batch.
    t = Topic(name=f"test.worker.{unique}", group=f"worker-{unique}")
    await admin.create_topics([NewTopic(t.name, 1, 1)])
    return t


@pytest.fixture
async def filled(kafka_settings: KafkaSettings, topic: Topic) -> Topic:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_settings.bootstrap_servers)
    await producer.start()
    try:
        for n in range(RECORDS):
            await producer.send_and_wait(topic.name, Ping(n=n).model_dump_json().encode())
    finally:
        await producer.stop()
    return topic


def make_worker(
    kafka: KafkaSettings, topic: Topic, handler: Handler, **options: Any
) -> tuple[ConsumerWorker[Ping], list[AIOKafkaProducer]]:
    """A worker over `topic`, and the list of producers it handed to its runner factory."""
    handed: list[AIOKafkaProducer] = []

    def build_runner(producer: AIOKafkaProducer) -> KafkaRunner[Ping]:
        handed.append(producer)
        return KafkaRunner(
            settings=kafka,
            group_id=topic.group,
            topics=[topic.name],
            event_type=Ping,
            handler=handler,
            dlq_producer=producer,
            metrics=ConsumerMetrics("test_worker", CollectorRegistry()),
        )

    values: dict[str, Any] = {"shutdown_timeout_s": 20.0, "max_backoff_s": 1.0} | options
    return ConsumerWorker(name="test", kafka=kafka, build_runner=build_runner, **values), handed


@pytest.fixture
async def running() -> AsyncIterator[list[ConsumerWorker[Ping]]]:
    """Workers a test started; stopped at the end whatever the test did."""
    workers: list[ConsumerWorker[Ping]] = []
    yield workers
    for worker in workers:
        await worker.stop()


async def committed(kafka: KafkaSettings, topic: Topic) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=topic.group)
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(topic.name, 0))
    finally:
        await consumer.stop()


async def until_ready(worker: ConsumerWorker[Ping]) -> None:
    async def ready() -> bool:
        return worker.ready

    await eventually(ready, timeout_s=30)


class TestConsumerWorker:
    async def test_producer_start_is_retried_until_the_broker_comes_up(
        self, kafka_settings: KafkaSettings, unique: str, running: list[ConsumerWorker[Ping]]
    ) -> None:
        port = free_port()  # nothing listens there yet
        kafka = kafka_settings.model_copy(update={"bootstrap_servers": f"127.0.0.1:{port}"})
        topic = Topic(name=f"test.late.{unique}", group=f"late-{unique}")
        worker, handed = make_worker(kafka, topic, Handler())
        with capture_logs() as logs:

            async def failures() -> int:
                return sum(e["event"] == "worker.producer_start_failed" for e in logs)

            worker.start()
            running.append(worker)
            assert await eventually(failures, lambda n: n >= 1) >= 1
            assert (worker.ready, worker.runner, handed) == (False, None, [])

            late = await asyncio.to_thread(EmbeddedBroker(port).start)
            try:
                await until_ready(worker)
                # The producer the runner got is started: it writes to the late broker.
                sent = await handed[0].send_and_wait(topic.name, b'{"n": 1}')
                await worker.stop()
            finally:
                await asyncio.to_thread(late.stop)
        assert len(handed) == 1
        assert sent.offset == 0
        assert not worker.failed
        assert not any(e["event"] == "worker.runner_died" for e in logs)

    async def test_stop_while_the_broker_is_away_ends_quietly(
        self, kafka_settings: KafkaSettings, unique: str
    ) -> None:
        kafka = kafka_settings.model_copy(update={"bootstrap_servers": f"127.0.0.1:{free_port()}"})
        fatal = Fatal()
        worker, handed = make_worker(kafka, Topic(f"t.{unique}", f"g-{unique}"), Handler(),
                                     on_fatal=fatal)  # fmt: skip
        with capture_logs() as logs:

            async def failures() -> int:
                return sum(e["event"] == "worker.producer_start_failed" for e in logs)

            worker.start()
            await eventually(failures, lambda n: n >= 1)
            await worker.stop()
        assert (worker.failed, fatal.calls, handed) == (False, 0, [])

    async def test_runner_breaking_under_the_loop_is_fatal(
        self, kafka_settings: KafkaSettings, topic: Topic, running: list[ConsumerWorker[Ping]]
    ) -> None:
        fatal = Fatal()
        worker, _ = make_worker(kafka_settings, topic, Handler(), on_fatal=fatal)
        worker.start()
        running.append(worker)
        await until_ready(worker)
        assert worker.runner is not None and worker.runner.consumer is not None
        with capture_logs() as logs:
            await worker.runner.consumer.stop()  # the consumer breaks under the running loop
            await asyncio.wait_for(fatal.called.wait(), 10)
        assert worker.failed
        assert not worker.ready
        assert fatal.calls == 1
        died = [e for e in logs if e["event"] == "worker.runner_died"]
        assert [(e["worker"], e["log_level"]) for e in died] == [("test", "error")]

    async def test_runner_returning_without_being_asked_is_fatal(
        self, kafka_settings: KafkaSettings, topic: Topic, running: list[ConsumerWorker[Ping]]
    ) -> None:
        fatal = Fatal()
        worker, _ = make_worker(kafka_settings, topic, Handler(), on_fatal=fatal)
        worker.start()
        running.append(worker)
        await until_ready(worker)
        assert worker.runner is not None
        worker.runner.stop()  # the runner ends cleanly, but nobody asked the worker to stop
        await asyncio.wait_for(fatal.called.wait(), 10)
        assert worker.failed
        assert fatal.calls == 1

    async def test_stop_lets_the_batch_in_flight_finish_and_commit(
        self, kafka_settings: KafkaSettings, filled: Topic
    ) -> None:
        handler = Handler()
        fatal = Fatal()
        worker, handed = make_worker(kafka_settings, filled, handler, on_fatal=fatal)
        worker.start()
        await asyncio.wait_for(handler.entered.wait(), 30)

        stopping = asyncio.create_task(worker.stop())

        async def fetching() -> bool:
            return worker.ready

        await eventually(fetching, lambda ready: not ready)  # stop() reached the runner
        assert not stopping.done()  # ...and waits for the batch, whose gate is still closed
        handler.gate.set()
        await asyncio.wait_for(stopping, 30)

        assert handler.handled == list(range(RECORDS))
        assert await committed(kafka_settings, filled) == RECORDS
        assert (worker.failed, fatal.calls) == (False, 0)
        with pytest.raises(ProducerClosed):  # the producer was stopped too
            await handed[0].send(filled.name, b'{"n": 9}')

    async def test_batch_outlasting_the_shutdown_timeout_is_abandoned_uncommitted(
        self, kafka_settings: KafkaSettings, filled: Topic
    ) -> None:
        handler = Handler()  # its gate never opens
        fatal = Fatal()
        worker, _ = make_worker(
            kafka_settings, filled, handler, on_fatal=fatal, shutdown_timeout_s=0.5
        )
        worker.start()
        await asyncio.wait_for(handler.entered.wait(), 30)
        with capture_logs() as logs:
            await worker.stop()

        assert handler.handled == []
        assert await committed(kafka_settings, filled) is None
        assert (worker.failed, fatal.calls) == (False, 0)
        assert [e["event"] for e in logs if e["event"].startswith("worker.")] == [
            "worker.shutdown_timeout"
        ]
