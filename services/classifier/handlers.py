"""The batch handler: classify a consumed batch in one pipeline call, publish, wait for acks.

Returning normally is the runner's cue to commit the batch's offsets, so this returns only once
the broker acknowledged every enriched event. Any failure raises and the runner retries the
whole batch; duplicates that causes carry the same event_id and are no-ops downstream.
"""

from __future__ import annotations

import asyncio
import time

import structlog
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from services.classifier import service
from services.classifier.nlp.pipeline import TextClassifier, TextResult
from services.classifier.telemetry import ClassifierMetrics
from services.classifier.touchpoints import TouchpointResolver
from shared.consumer import Consumed, Rejected
from shared.events import EnrichedFeedbackEvent, RawFeedbackEvent
from shared.kafka import publish

log = structlog.get_logger(__name__)


class ClassifyHandler:
    def __init__(
        self,
        *,
        classifier: TextClassifier,
        resolver: TouchpointResolver,
        producer: AIOKafkaProducer,
        metrics: ClassifierMetrics,
        output_topic: str,
        producer_name: str,
        publish_timeout_s: float,
    ) -> None:
        self.classifier = classifier
        self.resolver = resolver
        self.producer = producer
        self.metrics = metrics
        self.output_topic = output_topic
        self.producer_name = producer_name
        self.publish_timeout_s = publish_timeout_s

    async def __call__(self, batch: list[Consumed[RawFeedbackEvent]]) -> list[Rejected]:
        items = [c.event.data for c in batch]
        plan = service.plan_batch(items)
        results: dict[int, TextResult] = {}
        if plan.inputs:
            started = time.perf_counter()
            # In a thread: inference takes seconds, and the loop must keep the group heartbeat.
            outputs = await asyncio.to_thread(self.classifier.classify, plan.inputs)
            self.metrics.observe_inference(
                [r.language for r in outputs], time.perf_counter() - started
            )
            results = dict(zip(plan.positions, outputs, strict=True))
        events: list[tuple[str, EnrichedFeedbackEvent]] = []
        rejected: list[Rejected] = []
        for i, consumed in enumerate(batch):
            try:
                enriched = service.enrich(
                    consumed.event.data,
                    results.get(i),
                    resolver=self.resolver,
                    model_version=self.classifier.model_version,
                )
            except ValidationError as exc:
                rejected.append(Rejected(consumed.record, "enrichment_invalid", str(exc)[:1000]))
                continue
            out = EnrichedFeedbackEvent.wrap(
                enriched, producer=self.producer_name, correlation_id=consumed.event.correlation_id
            )
            events.append((self.output_topic, out))
        await publish(self.producer, events, timeout_s=self.publish_timeout_s)
        for _, published in events:
            self.metrics.observe_enriched(published.data.enrichment)
        log.info(
            "classifier.batch_published",
            published=len(events),
            rejected=len(rejected),
            classified=len(plan.inputs),
        )
        return rejected
