"""Wiring the webhook kit into an ingestion app: route, receiver and, if needed, fetch worker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from shared.events import SourceKind
from shared.ingest.ingestor import Ingestor
from shared.ingest.settings import IngestSettings
from shared.ingest.webhooks.adapter import WebhookAdapter
from shared.ingest.webhooks.api import webhook_router
from shared.ingest.webhooks.errors import RateLimited, rate_limited_handler
from shared.ingest.webhooks.fetch import VendorClient
from shared.ingest.webhooks.mapping import ItemMapper, ToFeedback
from shared.ingest.webhooks.metrics import WebhookMetrics
from shared.ingest.webhooks.receiver import WebhookReceiver
from shared.ingest.webhooks.worker import FetchWorker

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class WebhookKit:
    """What a service registers: its vendor adapters, and the `to_feedback` of the canonical
    model they produce (the one its `/v1/...` route uses)."""

    adapters: Sequence[WebhookAdapter] = ()
    to_feedback: ToFeedback | None = None


class WebhookRuntime:
    """The kit inside one app: mounted by `create_ingest_app`, started by its lifespan."""

    def __init__(
        self,
        kit: WebhookKit,
        *,
        kind: SourceKind,
        settings: IngestSettings,
        ingestor: Ingestor,
        registry: CollectorRegistry,
    ) -> None:
        if kit.adapters and kit.to_feedback is None:
            raise ValueError("webhook adapters need the service's to_feedback")
        self.settings = settings
        hooks = settings.webhooks
        service = settings.service_name
        self.metrics = WebhookMetrics(service, registry)
        mapper = ItemMapper(kind=kind, producer=service, to_feedback=kit.to_feedback)
        # A fetch worker only for vendors that are on: a secret, and the API's URL and token.
        self.clients = {
            a.vendor: self._client(a)
            for a in kit.adapters
            if a.fetches and hooks.secret(a.vendor) and self._fetchable(a)
        }
        self.receiver = WebhookReceiver(
            adapters=kit.adapters,
            settings=hooks,
            max_body_bytes=settings.max_body_bytes,
            ingestor=ingestor,
            mapper=mapper,
            metrics=self.metrics,
            enabled=lambda a: not a.fetches or a.vendor in self.clients,
        )
        fetchers = {a.vendor: a for a in kit.adapters if a.vendor in self.clients}
        self.worker = (
            FetchWorker(
                service=service,
                kafka=settings.kafka,
                group_id=hooks.fetch_group_id or f"{service}-fetch",
                adapters=fetchers,
                clients=self.clients,
                mapper=mapper,
                ingestor=ingestor,
                metrics=self.metrics,
                registry=registry,
            )
            if fetchers
            else None
        )

    def _fetchable(self, adapter: WebhookAdapter) -> bool:
        target = self.settings.webhooks.fetch_for(adapter.vendor)
        return bool(target.token and (target.base_url or adapter.default_base_url))

    def _client(self, adapter: WebhookAdapter) -> VendorClient:
        target = self.settings.webhooks.fetch_for(adapter.vendor)
        assert target.token is not None
        return VendorClient(
            adapter.vendor,
            target,
            base_url=target.base_url or adapter.default_base_url or "",
            headers=adapter.fetch_headers(target.token.get_secret_value()),
            metrics=self.metrics,
        )

    def install(self, app: FastAPI) -> None:
        app.state.webhooks = self.receiver
        app.add_exception_handler(RateLimited, rate_limited_handler)
        app.include_router(webhook_router())

    def start(self) -> None:
        enabled = []
        for vendor, adapter in sorted(self.receiver.adapters.items()):
            if self.settings.webhooks.secret(vendor) is None:
                continue
            if self.receiver.enabled(adapter):
                enabled.append(vendor)
            else:  # a secret but no API base URL/token: it would queue what it cannot fetch
                log.warning("webhook.fetch_unconfigured", vendor=vendor)
        log.info("webhook.vendors", enabled=enabled, fetch_worker=self.worker is not None)
        if self.worker is not None:
            self.worker.start()

    async def stop(self) -> None:
        if self.worker is not None:
            await self.worker.stop(self.settings.shutdown_timeout_s)

    def ready_checks(self) -> dict[str, bool]:
        return {} if self.worker is None else {"fetch_worker": self.worker.ready}
