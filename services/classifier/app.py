"""The classifier process: a Kafka consumer with a side HTTP port for health and metrics.

The lifespan builds the NLP classifier once (expanded into the cache directory on the very first
start, loaded from it afterwards), then starts the worker (`shared.worker`): one producer for
enriched events and the DLQ, and the KafkaRunner. Shutdown stops fetching, lets the current
batch finish and commit, then flushes the producer. A runner that dies on its own marks the
worker failed, which `__main__` turns into a non-zero exit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

import structlog
from aiokafka import AIOKafkaProducer
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
from shared.worker import ConsumerWorker, FatalHook

log = structlog.get_logger(__name__)


def _build_runner(
    settings: ClassifierSettings,
    model: TextClassifier,
    resolver: TouchpointResolver,
    metrics: ClassifierMetrics,
    producer: AIOKafkaProducer,
) -> KafkaRunner[RawFeedbackEvent]:
    """The runner the worker starts once its producer is up; one producer for output and DLQ."""
    handler = ClassifyHandler(
        classifier=model,
        resolver=resolver,
        producer=producer,
        metrics=metrics,
        output_topic=settings.output_topic,
        producer_name=settings.service_name,
        publish_timeout_s=settings.publish_timeout_s,
    )
    return KafkaRunner(
        settings=settings.kafka,
        group_id=settings.group_id,
        topics=settings.input_topics,
        event_type=RawFeedbackEvent,
        handler=handler,
        dlq_producer=producer,
        metrics=metrics.consumer,
        max_batch=settings.max_batch,
    )


@dataclass
class ClassifierState:
    """What the lifespan built; `app.state.classifier`, read by the probes and `__main__`."""

    model: TextClassifier | None = None
    worker: ConsumerWorker[RawFeedbackEvent] | None = None

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
    `on_fatal` is called if the consumer dies unexpectedly (`__main__` needs none: `serve`
    watches `app.state.classifier.failed`)."""
    journey = load_journey(settings.journey_file)  # a bad catalog fails here, before any I/O
    resolver = TouchpointResolver(journey)
    registry = CollectorRegistry()
    metrics = ClassifierMetrics(registry)
    state = ClassifierState()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = classifier
        if model is None:
            model = await asyncio.to_thread(build_classifier, settings.nlp)
        state.model = model
        metrics.model_info.labels(model.model_version).set(1)
        worker = ConsumerWorker(
            name=SERVICE,
            kafka=settings.kafka,
            build_runner=partial(_build_runner, settings, model, resolver, metrics),
            shutdown_timeout_s=settings.shutdown_timeout_s,
            on_fatal=on_fatal,
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
