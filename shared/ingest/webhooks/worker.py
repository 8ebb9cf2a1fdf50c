"""The fetch worker: queued envelopes in, fetched items out, failures to the replayable DLQ.

Runs inside the ingestion service that owns the fetch-step vendors, on the shared consumer
runner: offsets are committed only after the batch's items were acknowledged on the raw topic
(a broker outage retries the batch, re-fetching is harmless: ids are deterministic). A fetch
that still fails after its client's retries is dead-lettered to `voc.dlq.v1` with reason
`fetch_failed`; `python -m shared.ingest.webhooks.replay` puts it back on the pending topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from datetime import UTC, datetime

import structlog
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from shared.consumer import Consumed, KafkaRunner, Rejected
from shared.events import DLQ_TOPIC
from shared.ingest.errors import InvalidPayload
from shared.ingest.ingestor import Ingestor
from shared.ingest.webhooks.adapter import WebhookAdapter
from shared.ingest.webhooks.fetch import FetchFailed, VendorClient
from shared.ingest.webhooks.mapping import ItemMapper
from shared.ingest.webhooks.metrics import FETCH_FAILED, WebhookMetrics
from shared.ingest.webhooks.pending import FetchPendingEvent
from shared.kafka import ensure_topics
from shared.settings import KafkaSettings
from shared.telemetry import ConsumerMetrics

log = structlog.get_logger(__name__)


class FetchWorker:
    def __init__(
        self,
        *,
        service: str,
        kafka: KafkaSettings,
        group_id: str,
        adapters: Mapping[str, WebhookAdapter],
        clients: Mapping[str, VendorClient],
        mapper: ItemMapper,
        ingestor: Ingestor,
        metrics: WebhookMetrics,
        registry: CollectorRegistry,
    ) -> None:
        self.kafka = kafka
        self.group_id = group_id
        self.adapters = adapters
        self.clients = clients
        self.mapper = mapper
        self.ingestor = ingestor
        self.metrics = metrics
        self.consumer_metrics = ConsumerMetrics(service, registry)
        self.runner: KafkaRunner[FetchPendingEvent] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def ready(self) -> bool:
        return self.runner is not None and self.runner.ready

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.group_id}.worker")

    async def _run(self) -> None:
        try:
            await self._consume()
        except asyncio.CancelledError:
            raise
        except Exception:  # supervisor of the runner: report, and /readyz turns false
            log.exception("webhook.fetch_worker_crashed", group=self.group_id)

    async def _consume(self) -> None:
        producer = await self.ingestor.broker.wait_connected()
        try:
            # Real Kafka runs with auto-create off: the worker brings its own topic.
            await ensure_topics(self.kafka, topics=[FetchPendingEvent.TOPIC, DLQ_TOPIC])
        except KafkaError as exc:
            log.warning("webhook.fetch_topic_unchecked", error=type(exc).__name__)
        if self._stopping:
            return
        self.runner = KafkaRunner(
            settings=self.kafka,
            group_id=self.group_id,
            topics=[FetchPendingEvent.TOPIC],
            event_type=FetchPendingEvent,
            handler=self.handle,
            dlq_producer=producer,
            metrics=self.consumer_metrics,
        )
        await self.runner.run()
        if not self._stopping:
            log.error("webhook.fetch_worker_ended", group=self.group_id)

    async def stop(self, timeout_s: float) -> None:
        """Finish the batch in hand and commit; past `timeout_s` abandon it (it is replayed)."""
        self._stopping = True
        if self.runner is not None:
            self.runner.stop()
        if self._task is None:
            return
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.shield(self._task)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for client in self.clients.values():
            await client.aclose()

    async def handle(self, batch: list[Consumed[FetchPendingEvent]]) -> list[Rejected]:
        rejected: list[Rejected] = []
        events = []
        outcomes: list[tuple[str, str]] = []
        for consumed in batch:
            pending = consumed.event.data
            adapter = self.adapters.get(pending.vendor)
            if adapter is None:
                continue  # another service's vendor: the topic is shared
            started = time.perf_counter()
            try:
                items = await adapter.fetch(self.clients[pending.vendor], pending)
                mapped = self.mapper.map(
                    adapter,
                    items,
                    raw={"webhook": pending.envelope},
                    received_at=datetime.now(UTC),
                    correlation_id=consumed.event.correlation_id,
                )
            except FetchFailed as exc:
                rejected.append(Rejected(consumed.record, "fetch_failed", exc.reason))
                outcomes.append((pending.vendor, FETCH_FAILED))
                log.warning(
                    "webhook.fetch_failed",
                    vendor=pending.vendor,
                    reason=exc.reason,
                    retryable=exc.retryable,
                )
                continue
            except (InvalidPayload, ValidationError) as exc:
                # What the API returned cannot be mapped; no retry will change that.
                rejected.append(Rejected(consumed.record, "invalid", str(exc)[:1000]))
                outcomes.append((pending.vendor, FETCH_FAILED))
                continue
            finally:
                self.metrics.fetch_seconds.labels(pending.vendor).observe(
                    time.perf_counter() - started
                )
            events.extend(mapped.events)
            outcomes.extend((pending.vendor, outcome) for outcome in mapped.outcomes)
        if events:
            # A BrokerUnavailable here makes the runner retry the whole batch later.
            await self.ingestor.publish(events)
        for event in events:
            source = self.ingestor.metrics.source_label(event.data.source)
            self.ingestor.metrics.accepted.labels(source).inc()
        for vendor, outcome in outcomes:
            self.metrics.events.labels(vendor, outcome).inc()
        return rejected
