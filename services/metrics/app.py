"""The metrics writer process: a Kafka consumer task plus a small side HTTP app for ops.

The side app serves /healthz, /readyz and /metrics; its lifespan owns the engine, the DLQ
producer and the consumer task. Shutdown stops fetching, lets the batch in flight finish and
commit, then closes everything. A consumer task that dies on its own is fatal: `on_fatal` (the
server's exit, in __main__) is called so the process ends non-zero and the supervisor restarts it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics import repository
from services.metrics.handlers import FeedbackWriter
from services.metrics.settings import MetricsSettings
from services.metrics.telemetry import MetricsTelemetry
from shared.consumer import KafkaRunner
from shared.db import create_engine, create_sessionmaker
from shared.events import EnrichedFeedbackEvent
from shared.http import install_error_handlers, install_request_metrics, ops_router
from shared.kafka import create_producer

log = structlog.get_logger(__name__)


class ConsumerWorker:
    """Starts the DLQ producer (retrying while the broker is away), then runs the runner."""

    def __init__(
        self,
        settings: MetricsSettings,
        sessions: async_sessionmaker[AsyncSession],
        telemetry: MetricsTelemetry,
    ) -> None:
        self.settings = settings
        self.handler = FeedbackWriter(sessions, telemetry)
        self.telemetry = telemetry
        self.producer: AIOKafkaProducer | None = None
        self.runner: KafkaRunner[EnrichedFeedbackEvent] | None = None
        self.stopping = asyncio.Event()

    @property
    def ready(self) -> bool:
        return self.runner is not None and self.runner.ready

    async def run(self) -> None:
        self.producer = await self._start_producer()
        if self.producer is None or self.stopping.is_set():
            return
        s = self.settings
        self.runner = KafkaRunner(
            settings=s.kafka,
            group_id=s.group_id,
            topics=s.topics,
            event_type=EnrichedFeedbackEvent,
            handler=self.handler,
            dlq_producer=self.producer,
            metrics=self.telemetry.consumer,
            max_batch=s.max_batch,
            max_backoff_s=s.retry_max_backoff_s,
        )
        await self.runner.run()

    def stop(self) -> None:
        self.stopping.set()
        if self.runner is not None:
            self.runner.stop()

    async def close(self) -> None:
        if self.producer is not None:
            await self.producer.stop()

    async def _start_producer(self) -> AIOKafkaProducer | None:
        attempt = 0
        while not self.stopping.is_set():
            producer = create_producer(
                self.settings.kafka, client_id=f"{self.settings.kafka.client_id}-metrics-dlq"
            )
            try:
                await producer.start()
                return producer
            except KafkaError as exc:
                await producer.stop()
                attempt += 1
                log.warning(
                    "metrics.producer_start_failed", error=type(exc).__name__, attempt=attempt
                )
                delay = min(self.settings.retry_max_backoff_s, 0.2 * 2 ** min(attempt, 10))
                with suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), timeout=delay)
        return None


def create_app(settings: MetricsSettings, *, on_fatal: Callable[[], None] | None = None) -> FastAPI:
    registry = CollectorRegistry()
    telemetry = MetricsTelemetry(registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database)
        sessions = create_sessionmaker(engine)
        worker = ConsumerWorker(settings, sessions, telemetry)
        app.state.sessions = sessions
        app.state.worker = worker
        app.state.failed = False

        def on_done(task: asyncio.Task[None]) -> None:
            if worker.stopping.is_set() and (task.cancelled() or task.exception() is None):
                return
            error = "cancelled" if task.cancelled() else repr(task.exception())
            log.error("metrics.consumer_died", error=error)
            app.state.failed = True
            if on_fatal is not None:
                on_fatal()

        task = asyncio.create_task(worker.run(), name="metrics-consumer")
        task.add_done_callback(on_done)
        log.info("metrics.started", group=settings.group_id, topics=settings.topics)
        try:
            yield
        finally:
            worker.stop()
            done, _ = await asyncio.wait({task}, timeout=settings.shutdown_timeout_s)
            if not done:
                log.warning("metrics.shutdown_timeout", seconds=settings.shutdown_timeout_s)
                task.cancel()
                await asyncio.wait({task})
            await worker.close()
            await engine.dispose()
            log.info("metrics.stopped")

    async def ready() -> dict[str, bool]:
        worker: ConsumerWorker | None = getattr(app.state, "worker", None)
        database = False
        if worker is not None:
            try:
                async with asyncio.timeout(settings.ready_timeout_s):
                    async with app.state.sessions() as session:
                        database = await repository.ping(session)
            except (TimeoutError, OSError, SQLAlchemyError):
                database = False
        consumer = worker is not None and worker.ready and not app.state.failed
        return {"database": database, "consumer": consumer}

    app = FastAPI(title="VoC metrics writer", version="1.0.0", lifespan=lifespan)
    install_error_handlers(app)
    install_request_metrics(app, telemetry.http)
    app.include_router(ops_router(registry, ready))
    app.state.telemetry = telemetry
    app.state.failed = False
    return app
