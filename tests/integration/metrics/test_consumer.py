"""The metrics writer behind the real consumer runner, on the real broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics.handlers import FeedbackWriter
from services.metrics.settings import MetricsSettings
from services.metrics.telemetry import MetricsTelemetry
from shared.consumer import Consumed, KafkaRunner, Rejected
from shared.db import create_engine, create_sessionmaker
from shared.embedded import EmbeddedPostgres
from shared.events import EnrichedFeedbackEvent
from shared.settings import DatabaseSettings
from tests.helpers import eventually
from tests.integration.metrics.support import (
    TcpProxy,
    committed,
    counter_total,
    dlq_from,
    fact_rows,
    header,
    produce,
    rollup_totals,
)
from tests.unit.metrics.factories import enriched

Handler = Any


def _runner(
    settings: MetricsSettings,
    handler: Handler,
    producer: AIOKafkaProducer,
    telemetry: MetricsTelemetry,
    max_batch: int | None = None,
) -> KafkaRunner[EnrichedFeedbackEvent]:
    return KafkaRunner(
        settings=settings.kafka,
        group_id=settings.group_id,
        topics=settings.topics,
        event_type=EnrichedFeedbackEvent,
        handler=handler,
        dlq_producer=producer,
        metrics=telemetry.consumer,
        max_batch=max_batch,
        max_backoff_s=settings.retry_max_backoff_s,
    )


@contextlib.asynccontextmanager
async def _running(runner: KafkaRunner[EnrichedFeedbackEvent]) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(runner.run())
    try:
        yield task
    finally:
        runner.stop()
        await asyncio.wait_for(task, 20)


def _writer(engine: AsyncEngine, telemetry: MetricsTelemetry) -> FeedbackWriter:
    return FeedbackWriter(create_sessionmaker(engine), telemetry)


TOUCHPOINTS = ("checkout", "delivery", "website")


def _stream(items: int, seed: int) -> list[EnrichedFeedbackEvent]:
    """Items with 1-3 revisions each, some deleted, shuffled so older versions arrive late."""
    rng = random.Random(seed)
    events = []
    for i in range(items):
        versions = rng.randint(1, 3)
        for v in range(1, versions + 1):
            events.append(
                enriched(
                    f"r{i}",
                    revision=str(v),
                    touchpoint=rng.choice(TOUCHPOINTS),
                    nps=rng.randint(0, 10),
                    csat=rng.choice([None, 1, 2, 3, 4, 5]),
                    sentiment=(
                        rng.choice(["negative", "neutral", "positive"]),
                        round(rng.uniform(-1, 1), 3),
                    ),
                    deleted=v == versions and rng.random() < 0.1,
                )
            )
    rng.shuffle(events)
    return events


def _expected(events: list[EnrichedFeedbackEvent]) -> dict[tuple[str], Counter[str]]:
    """Scores per touchpoint computed straight from the events, independently of the writer."""
    latest: dict[str, Any] = {}
    for e in events:
        d = e.data
        cur = latest.get(d.source_id)
        if cur is None or (d.revision_rank, d.received_at) > (cur.revision_rank, cur.received_at):
            latest[d.source_id] = d
    out: dict[tuple[str], Counter[str]] = defaultdict(Counter)
    for d in latest.values():
        if d.deleted:
            continue
        row = out[(d.enrichment.touchpoint,)]
        row["n"] += 1
        row["nps_n"] += 1
        row["nps_promoters"] += d.survey.nps >= 9
        row["nps_detractors"] += d.survey.nps <= 6
        if d.survey.csat is not None:
            row["csat_n"] += 1
            row["csat_sum"] += d.survey.csat
        row["sentiment_n"] += 1
        row["sentiment_sum"] += d.enrichment.sentiment.score  # type: ignore[assignment]
    return out


class CrashAfterBatches:
    """Crashes right after the n-th batch's transaction committed, before its offset commit."""

    def __init__(self, writer: FeedbackWriter, batches: int) -> None:
        self.writer, self.batches, self.calls = writer, batches, 0
        self.runner: KafkaRunner[EnrichedFeedbackEvent] | None = None

    async def __call__(self, batch: list[Consumed[EnrichedFeedbackEvent]]) -> list[Rejected]:
        rejected = await self.writer(batch)
        self.calls += 1
        if self.calls == self.batches:
            assert self.runner is not None
            self.runner.stop()
            raise RuntimeError("crashed between the DB commit and the offset commit")
        return rejected


class TestConsumer:
    async def test_restart_mid_stream_loses_nothing_and_counts_nothing_twice(
        self,
        metrics_settings: MetricsSettings,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        topic: str,
    ) -> None:
        events = _stream(150, seed=11)
        ends = await produce(producer, topic, events)
        telemetry = MetricsTelemetry(CollectorRegistry())
        crashing = CrashAfterBatches(_writer(engine, telemetry), batches=3)
        first = _runner(metrics_settings, crashing, producer, telemetry, max_batch=20)
        crashing.runner = first
        await asyncio.wait_for(first.run(), 30)  # returns once the crash stopped it
        part_way = await committed(metrics_settings.kafka, metrics_settings.group_id, topic)
        assert sum(part_way.values()) < len(events)  # stopped mid-stream

        telemetry = MetricsTelemetry(CollectorRegistry())
        second = _runner(metrics_settings, _writer(engine, telemetry), producer, telemetry, 50)
        async with _running(second):
            dupes = random.Random(3).sample(events, 40)
            for p, end in (await produce(producer, topic, dupes)).items():
                ends[p] = max(ends.get(p, 0), end)
            await eventually(
                lambda: committed(metrics_settings.kafka, metrics_settings.group_id, topic),
                lambda got: got == ends,
                timeout_s=60,
            )

        got = await rollup_totals(engine, "touchpoint")
        want = _expected(events)
        assert set(got) == set(want)
        for key, row in want.items():
            for measure, value in row.items():
                assert got[key][measure] == pytest.approx(value, abs=1e-9), (key, measure)
        # The re-produced copies and the replayed, already-written batch all changed nothing.
        assert await counter_total(telemetry.versions_skipped) >= 40

    async def test_poison_records_go_to_the_dlq_and_consumption_continues(
        self,
        metrics_settings: MetricsSettings,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        topic: str,
    ) -> None:
        telemetry = MetricsTelemetry(CollectorRegistry())
        runner = _runner(metrics_settings, _writer(engine, telemetry), producer, telemetry)
        poison: list[EnrichedFeedbackEvent | bytes] = [
            b"{not json",
            b'{"event_id": "not-an-event"}',
            enriched("nul", text="bad\x00byte"),
        ]
        async with _running(runner):
            await produce(producer, topic, [*poison, enriched("good-1", nps=9)])
            dead = await dlq_from(metrics_settings.kafka.bootstrap_servers, topic, count=3)
            await produce(producer, topic, [enriched("good-2", nps=3)])
            facts = await eventually(lambda: fact_rows(engine), lambda f: len(f) == 2)

        assert set(facts) == {"good-1", "good-2"}
        by_reason = {header(r, "dlq_reason"): r for r in dead}
        assert set(by_reason) == {"undecodable", "invalid", "unstorable"}
        assert by_reason["undecodable"].value == b"{not json"
        for rec in dead:
            assert header(rec, "dlq_consumer_group") == metrics_settings.group_id
            assert header(rec, "dlq_error")
            assert int(header(rec, "dlq_source_partition")) >= 0
            assert int(header(rec, "dlq_source_offset")) >= 0
        assert "NUL" in header(by_reason["unstorable"], "dlq_error")

    async def test_database_outage_is_retried_and_offsets_wait_for_success(
        self,
        metrics_settings: MetricsSettings,
        metrics_db: DatabaseSettings,
        postgres: EmbeddedPostgres,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        topic: str,
    ) -> None:
        proxy = TcpProxy(postgres.host, postgres.port)  # down until started
        database = metrics_db.url.rsplit("/", 1)[1]
        behind_proxy = create_engine(
            DatabaseSettings(url=f"postgresql://postgres@127.0.0.1:{proxy.port}/{database}")
        )
        telemetry = MetricsTelemetry(CollectorRegistry())
        runner = _runner(metrics_settings, _writer(behind_proxy, telemetry), producer, telemetry)
        errors = telemetry.consumer.errors
        try:
            async with _running(runner):
                ends = await produce(producer, topic, [enriched(str(i), nps=i) for i in range(5)])
                await eventually(lambda: counter_total(errors), lambda n: n >= 2, timeout_s=30)
                assert (
                    await committed(metrics_settings.kafka, metrics_settings.group_id, topic) == {}
                )
                assert await fact_rows(engine) == {}

                await proxy.start()
                await eventually(
                    lambda: committed(metrics_settings.kafka, metrics_settings.group_id, topic),
                    lambda got: got == ends,
                    timeout_s=30,
                )
            assert (await rollup_totals(engine))[()]["n"] == 5
        finally:
            await behind_proxy.dispose()
            await proxy.close()
