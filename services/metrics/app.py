"""The metrics writer process: a Kafka consumer task plus a small side HTTP app for ops.

The side app serves /healthz, /readyz and /metrics; its lifespan owns the engine, the worker
(`shared.worker`: the DLQ producer and the consumer task) and the alert tasks (evaluator and
webhook notifier, services/metrics/alerts). Shutdown stops fetching, lets the
batch in flight finish and commit, then closes everything. A consumer task that dies on its own
marks the worker failed, which `__main__` turns into a non-zero exit so the supervisor restarts it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics import repository
from services.metrics.alerts.runner import AlertRunner
from services.metrics.handlers import FeedbackWriter
from services.metrics.settings import MetricsSettings
from services.metrics.telemetry import SERVICE, MetricsTelemetry
from shared.consumer import KafkaRunner
from shared.db import create_engine, create_sessionmaker
from shared.events import EnrichedFeedbackEvent
from shared.http import install_error_handlers, install_request_metrics, ops_router
from shared.worker import ConsumerWorker, FatalHook

log = structlog.get_logger(__name__)

Worker = ConsumerWorker[EnrichedFeedbackEvent]


def worker_failed(app: FastAPI) -> bool:
    """Whether the app's consumer died on its own; `__main__` makes it the exit code."""
    worker: Worker | None = app.state.worker
    return worker is not None and worker.failed


def create_worker(
    settings: MetricsSettings,
    sessions: async_sessionmaker[AsyncSession],
    telemetry: MetricsTelemetry,
    on_fatal: FatalHook | None = None,
) -> Worker:
    """The DLQ producer (retried while the broker is away) and the runner writing batches."""

    def build_runner(producer: AIOKafkaProducer) -> KafkaRunner[EnrichedFeedbackEvent]:
        return KafkaRunner(
            settings=settings.kafka,
            group_id=settings.group_id,
            topics=settings.topics,
            event_type=EnrichedFeedbackEvent,
            handler=FeedbackWriter(sessions, telemetry),
            dlq_producer=producer,
            metrics=telemetry.consumer,
            max_batch=settings.max_batch,
            max_backoff_s=settings.retry_max_backoff_s,
        )

    return ConsumerWorker(
        name=SERVICE,
        kafka=settings.kafka,
        build_runner=build_runner,
        shutdown_timeout_s=settings.shutdown_timeout_s,
        on_fatal=on_fatal,
        client_id=f"{settings.kafka.client_id}-metrics-dlq",
        max_backoff_s=settings.retry_max_backoff_s,
    )


def create_app(settings: MetricsSettings, *, on_fatal: FatalHook | None = None) -> FastAPI:
    registry = CollectorRegistry()
    telemetry = MetricsTelemetry(registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database)
        sessions = create_sessionmaker(engine)
        worker = create_worker(settings, sessions, telemetry, on_fatal)
        # A broken journey catalog fails the start, before anything is consumed.
        alerts = (
            AlertRunner(settings, sessions, telemetry.alerts) if settings.alerts.enabled else None
        )
        app.state.sessions = sessions
        app.state.worker = worker
        app.state.alerts = alerts
        worker.start()
        if alerts is not None:
            alerts.start()
        log.info("metrics.started", group=settings.group_id, topics=settings.topics)
        try:
            yield
        finally:
            if alerts is not None:
                await alerts.stop(settings.shutdown_timeout_s)
            await worker.stop()
            await engine.dispose()
            log.info("metrics.stopped")

    async def ready() -> dict[str, bool]:
        worker: Worker | None = app.state.worker
        database = False
        if worker is not None:
            try:
                async with asyncio.timeout(settings.ready_timeout_s):
                    async with app.state.sessions() as session:
                        database = await repository.ping(session)
            except (TimeoutError, OSError, SQLAlchemyError):
                database = False
        return {"database": database, "consumer": worker is not None and worker.ready}

    app = FastAPI(title="VoC metrics writer", version="1.0.0", lifespan=lifespan)
    install_error_handlers(app)
    install_request_metrics(app, telemetry.http)
    app.include_router(ops_router(registry, ready))
    app.state.telemetry = telemetry
    app.state.worker = None
    app.state.alerts = None
    return app
