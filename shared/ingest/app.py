"""App factory shared by the four ingestion services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry

from shared.events import RawFeedbackEvent, SourceKind
from shared.http import HttpMetrics, install_error_handlers, install_request_metrics, ops_router
from shared.ingest.broker import BrokerLink
from shared.ingest.ingestor import Ingestor
from shared.ingest.metrics import IngestMetrics
from shared.ingest.settings import IngestSettings
from shared.ingest.webhooks.kit import WebhookKit, WebhookRuntime

log = structlog.get_logger(__name__)


def create_ingest_app(
    settings: IngestSettings,
    *,
    kind: SourceKind,
    router: APIRouter,
    webhooks: WebhookKit | None = None,
) -> FastAPI:
    """A FastAPI app serving `router` that publishes `kind` items to their raw topic.

    It also serves `/v1/webhooks/{vendor}` over the service's vendor adapters (`webhooks`;
    none: every vendor is 404), and runs their fetch worker when a fetch-step vendor is on.
    Startup never fails on the broker: it connects in the background, `/readyz` reports it, and
    until then ingestion routes answer 503 with Retry-After.
    """
    service = settings.service_name
    registry = CollectorRegistry()
    broker = BrokerLink(
        settings.kafka,
        client_id=f"{settings.kafka.client_id}-{service}",
        retry_max_s=settings.connect_retry_max_s,
    )
    ingestor = Ingestor(
        kind=kind, settings=settings, broker=broker, metrics=IngestMetrics(service, registry)
    )
    hooks = WebhookRuntime(
        webhooks or WebhookKit(), kind=kind, settings=settings, ingestor=ingestor, registry=registry
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await broker.start(wait_s=settings.startup_wait_s)
        log.info(
            "ingest.started",
            service=service,
            topic=RawFeedbackEvent.topic_for(kind),
            connected=broker.connected,
        )
        hooks.start()
        try:
            yield
        finally:
            # The fetch worker first: it finishes its batch while the producer still runs.
            await hooks.stop()
            await broker.stop(timeout_s=settings.shutdown_timeout_s)
            log.info("ingest.stopped", service=service)

    async def ready() -> dict[str, bool]:
        return {"broker": await broker.ready(), **hooks.ready_checks()}

    app = FastAPI(
        title=f"VoC {service} ingestion",
        summary=f"Accepts {kind.value} feedback and publishes it to Kafka.",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.state.ingestor = ingestor
    app.state.registry = registry
    install_error_handlers(app)
    install_request_metrics(app, HttpMetrics(service, registry))
    app.include_router(router)
    hooks.install(app)
    app.include_router(ops_router(registry, ready))
    return app
