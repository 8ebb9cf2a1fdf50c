"""The batch writer against a real PostgreSQL: idempotence, revisions, deletes, concurrency."""

from __future__ import annotations

import asyncio
import random

import pytest
from aiokafka import ConsumerRecord
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics import repository, service
from services.metrics.errors import ConcurrentFactWrite
from services.metrics.handlers import FeedbackWriter
from services.metrics.models import fact_from_event
from services.metrics.telemetry import MetricsTelemetry
from shared.consumer import Consumed
from shared.db import create_sessionmaker
from shared.events import EnrichedFeedbackEvent
from tests.helpers import eventually
from tests.integration.metrics.support import fact_rows, rollup_totals
from tests.unit.metrics.factories import enriched


@pytest.fixture
def writer(engine: AsyncEngine) -> FeedbackWriter:
    return FeedbackWriter(create_sessionmaker(engine), MetricsTelemetry(CollectorRegistry()))


async def _write(writer: FeedbackWriter, *events: EnrichedFeedbackEvent) -> service.Plan:
    return await writer.write([fact_from_event(e) for e in events])


class TestFeedbackWriter:
    async def test_duplicate_delivery_is_counted_once(
        self, writer: FeedbackWriter, engine: AsyncEngine
    ) -> None:
        event = enriched(nps=10, sentiment=("positive", 0.5))
        await _write(writer, event, event)
        plan = await _write(writer, event)
        totals = (await rollup_totals(engine))[()]
        assert (totals["n"], totals["nps_promoters"], totals["sentiment_sum"]) == (1, 1, 0.5)
        assert plan.skipped == {"duplicate": 1}

    async def test_fractional_sums_of_squares_are_stored_exactly(
        self, writer: FeedbackWriter, engine: AsyncEngine
    ) -> None:
        await _write(writer, enriched(sentiment=("negative", -0.5)))
        totals = (await rollup_totals(engine))[()]
        assert (totals["sentiment_sum"], totals["sentiment_sumsq"]) == (-0.5, 0.25)

    async def test_newer_revision_replaces_the_old_one_in_the_rollups(
        self, writer: FeedbackWriter, engine: AsyncEngine
    ) -> None:
        await _write(writer, enriched(revision="1", touchpoint="checkout", nps=2))
        await _write(writer, enriched(revision="2", touchpoint="delivery", nps=9, csat=5))
        by_tp = await rollup_totals(engine, "touchpoint")
        assert set(by_tp) == {("delivery",)}
        row = by_tp[("delivery",)]
        assert (row["n"], row["nps_promoters"], row["nps_detractors"], row["csat_sum"]) == (
            1,
            1,
            0,
            5,
        )
        assert (await fact_rows(engine))["item-1"]["revision"] == "2"

    async def test_older_revision_after_newer_changes_nothing(
        self, writer: FeedbackWriter, engine: AsyncEngine
    ) -> None:
        await _write(writer, enriched(revision="5", nps=10, text="final"))
        before = await rollup_totals(engine)
        await _write(writer, enriched(revision="4", nps=0, text="draft"))
        assert await rollup_totals(engine) == before
        assert (await fact_rows(engine))["item-1"]["redacted_text"] == "final"

    async def test_delete_removes_the_contribution_and_keeps_a_tombstone(
        self, writer: FeedbackWriter, engine: AsyncEngine
    ) -> None:
        await _write(writer, enriched("a", nps=10), enriched("b", nps=0))
        await _write(writer, enriched("a", revision="2", deleted=True))
        totals = (await rollup_totals(engine))[()]
        assert (totals["n"], totals["nps_promoters"], totals["nps_detractors"]) == (1, 0, 1)
        tomb = (await fact_rows(engine))["a"]
        assert (tomb["deleted"], tomb["redacted_text"]) == (True, None)

    async def test_late_older_version_cannot_resurrect_a_deleted_item(
        self, writer: FeedbackWriter, engine: AsyncEngine
    ) -> None:
        await _write(writer, enriched(revision="2", deleted=True))
        await _write(writer, enriched(revision="1", nps=10))
        assert await rollup_totals(engine) == {}
        assert (await fact_rows(engine))["item-1"]["deleted"] is True

    async def test_several_versions_in_one_batch_count_only_the_newest(
        self, writer: FeedbackWriter, engine: AsyncEngine
    ) -> None:
        await _write(
            writer,
            enriched(revision="2", nps=5),
            enriched(revision="3", nps=10),
            enriched(revision="1", nps=0),
        )
        totals = (await rollup_totals(engine))[()]
        assert (totals["n"], totals["nps_promoters"], totals["nps_passives"]) == (1, 1, 0)

    async def test_large_batch_is_written_in_one_transaction(
        self, writer: FeedbackWriter, engine: AsyncEngine
    ) -> None:
        events = [
            enriched(str(i), nps=i % 11, touchpoint=("checkout", "delivery")[i % 2])
            for i in range(2000)
        ]
        plan = await _write(writer, *events)
        totals = (await rollup_totals(engine))[()]
        assert plan.written == {"inserted": 2000}
        assert totals["n"] == 2000
        assert totals["nps_promoters"] == sum(1 for i in range(2000) if i % 11 >= 9)

    async def test_item_inserted_concurrently_is_recomputed_not_counted_twice(
        self, writer: FeedbackWriter, engine: AsyncEngine
    ) -> None:
        # Two replicas briefly owning one partition both take the item for new: the second must
        # not add its contribution on top of the first's.
        event = enriched(nps=10)
        facts = [fact_from_event(event)]
        sessions = create_sessionmaker(engine)
        async with sessions.begin() as first:
            plan = service.plan(service.collapse(facts), await repository.lock_facts(first, []))
            await repository.upsert_facts(first, plan.facts, [])
            await repository.apply_deltas(first, plan.deltas)
            second = asyncio.create_task(writer.write(facts))
            await eventually(lambda: _waiting_on_lock(engine), timeout_s=10)
        with pytest.raises(ConcurrentFactWrite):
            await second
        retried = await writer.write(facts)  # what the runner does next
        assert retried.skipped == {"duplicate": 1}
        assert (await rollup_totals(engine))[()]["n"] == 1

    async def test_record_postgresql_refuses_is_rejected_alone(
        self, writer: FeedbackWriter, engine: AsyncEngine
    ) -> None:
        # Passes validation (every field within its length limit) but makes a rollup key wider
        # than a btree index row may be: retrying could never store it.
        rng = random.Random(5)

        def wide() -> str:
            return "".join(chr(rng.randint(0x20000, 0x2A6DF)) for _ in range(256))

        events = [
            enriched("ok-1", nps=10),
            enriched("wide", touchpoint=wide(), channel=wide(), segment=wide(), language=wide()),
            enriched("ok-2", nps=0),
        ]
        batch = [Consumed(_record(offset), e) for offset, e in enumerate(events)]
        rejected = await writer(batch)
        assert [(r.record.offset, r.reason) for r in rejected] == [(1, "unstorable")]
        assert rejected[0].error.startswith("54000")
        assert set(await fact_rows(engine)) == {"ok-1", "ok-2"}
        assert (await rollup_totals(engine))[()]["n"] == 2


def _record(offset: int) -> ConsumerRecord:  # type: ignore[type-arg]
    return ConsumerRecord(
        topic="t",
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=b"{}",
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=2,
        headers=[],
    )


async def _waiting_on_lock(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        waiting = await conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        return bool(waiting.scalar_one())
