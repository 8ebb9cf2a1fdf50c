"""The classifier process: a Kafka consumer with a side HTTP port for health and metrics.

The lifespan builds the NLP classifier once (expanded into the cache directory on the very first
start, loaded from it afterwards), then starts the worker: one producer for enriched events and
the DLQ, and the KafkaRunner. Shutdown stops fetching, lets the current batch finish and commit,
then flushes the producer. A worker that dies on its own is fatal: the process must exit
non-zero so its supervisor restarts it, rather than stay up, healthy-looking and idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.classifier.handlers import ClassifyHandler
from services.classifier.nlp.pipeline import TextClassifier, build_classifier
from services.classifier.settings import ClassifierSettings
from services.classifier.telemetry import SERVICE, ClassifierMetrics
from services.classifier.touchpoints import TouchpointResolver
from shared.consumer import KafkaRunner
from shared.events import RawFeedbackEvent
from shared.http import HttpMetrics, install_error_handlers, install_request_metrics, ops_router
from shared.journey import load_journey
from shared.kafka import create_producer

log = structlog.get_logger(__name__)

FatalHook = Callable[[], None]


def _terminate_self() -> None:
    # uvicorn turns SIGTERM into a graceful shutdown and then re-raises it, so the process
    # ends by that signal: a non-zero status for any supervisor.
    os.kill(os.getpid(), signal.SIGTERM)


class ClassifierWorker:
    """The producer and the KafkaRunner around one loaded model, run as one supervised task.

    Both start in the background with retries, so a broker that is still coming up delays
    readiness instead of failing the process; an exit nobody asked for is fatal.
    """

    def __init__(
        self,
        settings: ClassifierSettings,
        *,
        model: TextClassifier,
        resolver: TouchpointResolver,
        metrics: ClassifierMetrics,
        on_fatal: FatalHook,
    ) -> None:
        self.settings = settings
        self.model = model
        self.resolver = resolver
        self.metrics = metrics
        self.on_fatal = on_fatal
        self.producer: AIOKafkaProducer | None = None
        self.runner: KafkaRunner[RawFeedbackEvent] | None = None
        self.task: asyncio.Task[None] | None = None
        self.failed = False
        self._stopping = asyncio.Event()

    @property
    def ready(self) -> bool:
        return self.runner is not None and self.runner.ready

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="classifier-worker")
        self.task.add_done_callback(self._on_done)

    async def _run(self) -> None:
        self.producer = await self._start_producer()
        if self.producer is None or self._stopping.is_set():
            return
        s = self.settings
        handler = ClassifyHandler(
            classifier=self.model,
            resolver=self.resolver,
            producer=self.producer,
            metrics=self.metrics,
            output_topic=s.output_topic,
            producer_name=s.service_name,
            publish_timeout_s=s.publish_timeout_s,
        )
        self.runner = KafkaRunner(
            settings=s.kafka,
            group_id=s.group_id,
            topics=s.input_topics,
            event_type=RawFeedbackEvent,
            handler=handler,
            dlq_producer=self.producer,
            metrics=self.metrics.consumer,
            max_batch=s.max_batch,
        )
        await self.runner.run()

    async def _start_producer(self) -> AIOKafkaProducer | None:
        """A started producer, retrying with backoff; None if asked to stop first."""
        kafka = self.settings.kafka
        attempt = 0
        while not self._stopping.is_set():
            producer = create_producer(kafka, client_id=f"{kafka.client_id}-{SERVICE}")
            try:
                await producer.start()
                return producer
            except KafkaError as exc:
                await producer.stop()
                attempt += 1
                log.warning(
                    "classifier.producer_start_failed", error=type(exc).__name__, attempt=attempt
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), min(30.0, 0.2 * 2**attempt))
        return None

    def _on_done(self, task: asyncio.Task[None]) -> None:
        if self._stopping.is_set():
            return
        error = None if task.cancelled() else task.exception()
        log.error(
            "classifier.runner_died",
            error=type(error).__name__ if error else None,
            message=str(error)[:300] if error else "runner returned without being stopped",
            exc_info=error,
        )
        self.failed = True
        self.on_fatal()

    async def stop(self) -> None:
        """Stop fetching, let the current batch finish and commit, then flush the producer."""
        self._stopping.set()
        if self.runner is not None:
            self.runner.stop()
        if self.task is not None:
            timeout = self.settings.shutdown_timeout_s
            try:
                # shield: the timeout must not cancel a batch that may still finish in time.
                await asyncio.wait_for(asyncio.shield(self.task), timeout)
            except TimeoutError:
                log.warning("classifier.shutdown_timeout", seconds=timeout)
                self.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.task
            except Exception as exc:  # it died earlier; _on_done logged it
                log.warning("classifier.worker_failed_before_stop", error=type(exc).__name__)
        if self.producer is not None:
            await self.producer.stop()


@dataclass
class ClassifierState:
    """What the lifespan built; `app.state.classifier`, read by the probes and `__main__`."""

    model: TextClassifier | None = None
    worker: ClassifierWorker | None = None

    @property
    def failed(self) -> bool:
        return self.worker is not None and self.worker.failed


def create_app(
    settings: ClassifierSettings,
    *,
    classifier: TextClassifier | None = None,
    on_fatal: FatalHook | None = None,
) -> FastAPI:
    """The classifier app. `classifier` skips building the model (tests share one instance);
    `on_fatal` is called if the consumer dies unexpectedly (default: SIGTERM to this process)."""
    journey = load_journey(settings.journey_file)  # a bad catalog fails here, before any I/O
    resolver = TouchpointResolver(journey)
    registry = CollectorRegistry()
    metrics = ClassifierMetrics(registry)
    state = ClassifierState()
    fatal = on_fatal or _terminate_self

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = classifier
        if model is None:
            model = await asyncio.to_thread(build_classifier, settings.nlp)
        state.model = model
        metrics.model_info.labels(model.model_version).set(1)
        worker = ClassifierWorker(
            settings, model=model, resolver=resolver, metrics=metrics, on_fatal=fatal
        )
        state.worker = worker
        worker.start()
        log.info(
            "classifier.started",
            model_version=model.model_version,
            topics=settings.input_topics,
            output=settings.output_topic,
        )
        try:
            yield
        finally:
            await worker.stop()
            log.info("classifier.stopped")

    async def ready() -> dict[str, bool]:
        return {
            "model_loaded": state.model is not None,
            "consumer_started": state.worker is not None and state.worker.ready,
        }

    app = FastAPI(
        title="VoC classifier",
        summary="Side port of the classifier consumer: health, readiness and metrics.",
        lifespan=lifespan,
    )
    app.state.classifier = state
    app.state.registry = registry
    install_error_handlers(app)
    install_request_metrics(app, HttpMetrics(SERVICE, registry))
    app.include_router(ops_router(registry, ready))
    return app
