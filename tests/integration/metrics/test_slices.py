"""score_slices against a real PostgreSQL: what the writer and `voc remap` keep by differences
equals what `rebuild` recomputes from the facts, and a plain-Python recomputation of both."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics import repository, service
from services.metrics.contributions import slice_keys, utc_day
from services.metrics.handlers import FeedbackWriter
from services.metrics.models import fact_from_event
from services.metrics.rebuild import rebuild
from services.metrics.remap import remap
from services.metrics.telemetry import MetricsTelemetry
from shared.db import create_sessionmaker
from shared.events import EnrichedFeedbackEvent
from shared.journey import load_journey
from shared.tables import feedback_facts
from tests.helpers import eventually
from tests.integration.metrics.slices_support import (
    Table,
    expected_rollups,
    expected_slices,
    facts,
    history,
    stored,
)
from tests.unit.metrics.factories import enriched

CATALOG = """
version: 1
touchpoints:
  - {name: website, stage: consideration, team: digital}
  - {name: checkout, stage: conversion, team: ecommerce}
  - {name: delivery, stage: retention, team: logistics}
  - {name: brand, stage: loyalty, team: cx}
rules:
  - {name: web_channel, match: {channel: web}, touchpoint: website}
topic_touchpoints: {delivery: delivery, pricing: checkout}
default_touchpoint: brand
"""


@pytest.fixture
def writer(engine: AsyncEngine) -> FeedbackWriter:
    return FeedbackWriter(create_sessionmaker(engine), MetricsTelemetry(CollectorRegistry()))


async def _write(writer: FeedbackWriter, events: list[EnrichedFeedbackEvent]) -> None:
    await writer.write([fact_from_event(e) for e in events])


async def incremental(engine: AsyncEngine) -> tuple[Table, Table]:
    async with engine.connect() as conn:
        return await stored(conn)


async def rebuilt(engine: AsyncEngine) -> tuple[Table, Table]:
    """What rebuild writes, read in its transaction and rolled back (the tables stay as kept)."""
    async with create_sessionmaker(engine)() as session, session.begin() as tx:
        await rebuild(session)
        got = await stored(await session.connection())
        await tx.rollback()
    return got


async def assert_consistent(engine: AsyncEngine) -> tuple[Table, Table]:
    live = await facts(engine)
    want = (expected_rollups(live), expected_slices(live))
    kept = await incremental(engine)
    assert kept[0] == want[0]
    assert kept[1] == want[1]
    assert await rebuilt(engine) == want
    return want


@pytest.fixture
async def written(writer: FeedbackWriter, engine: AsyncEngine) -> list[EnrichedFeedbackEvent]:
    """300 items through the writer, then revisions, deletions, duplicates, stale versions."""
    batches = history(300, seed=11)
    for batch in batches:
        await _write(writer, batch)
    return [e for batch in batches for e in batch]


class TestIncrementalSlices:
    async def test_writer_slices_equal_rebuild_and_an_independent_recomputation(
        self, engine: AsyncEngine, written: list[EnrichedFeedbackEvent]
    ) -> None:
        rollups, slices = await assert_consistent(engine)
        live = [f for f in await facts(engine) if not f["deleted"]]
        # The history covers what it claims to: a real mix, not a degenerate case.
        assert sum(f["topics"] == [] for f in live) > 10
        assert sum(len(f["topics"]) >= 2 for f in live) > 10
        assert sum(len({t["label"] for t in f["topics"]}) < len(f["topics"]) for f in live) > 5
        assert {f["audience"] for f in live} == {"customer", "employee", ""}
        assert any(f["unscored"] and f["sentiment_score"] is not None for f in live)
        assert len(live) < 300 and len(rollups) > 50 and len(slices) > 300
        # Every slice holds each live fact once, topic slices once per distinct label.
        totals: dict[str, float] = {}
        for key, row in slices.items():
            totals[key[0]] = totals.get(key[0], 0) + row["n"]
        labels = sum(max(1, len({t["label"] for t in f["topics"]})) for f in live)
        assert totals == {
            "touchpoint": len(live),
            "stage": len(live),
            "channel": len(live),
            "touchpoint_channel": len(live),
            "touchpoint_survey": len(live),
            "topic": labels,
            "topic_touchpoint": labels,
            "topic_channel": labels,
            "touchpoint_day": len(live),
            "channel_day": len(live),
            "topic_touchpoint_day": labels,
            "stage_day": len(live),
            "topic_day": labels,
        }
        # The facts span two UTC days, and each day row is keyed by its UTC midnight.
        days = {key[-1] for key in slices if key[0].endswith("_day")}
        assert {f["bucket_start"].date() for f in live} == {d.date() for d in days}
        assert len(days) == 2 and all(d == utc_day(d) for d in days)

    async def test_slice_rows_touched_are_counted_beside_the_rollup_rows(
        self, writer: FeedbackWriter, engine: AsyncEngine
    ) -> None:
        # One fact with two topics: a row in each of the 8 slices without topic (3 day ones),
        # 2 in each of the 5 topic slices (2 day ones); 1 rollup row.
        await _write(writer, [enriched("a", nps=9, topics=("delivery", "pricing"))])
        registry = writer.telemetry.registry
        rollups = registry.get_sample_value("voc_metrics_rollup_rows_touched_total")
        sliced = registry.get_sample_value("voc_metrics_slice_rows_touched_total")
        _, slices = await incremental(engine)
        assert (rollups, sliced) == (1, len(slices)) == (1, 8 + 2 * 5)

    async def test_update_that_changes_topics_and_channel_moves_its_slice_parts(
        self, writer: FeedbackWriter, engine: AsyncEngine
    ) -> None:
        await _write(writer, [enriched("a", nps=10, channel="web", topics=("delivery", "pricing"))])
        await _write(writer, [enriched("a", revision="2", nps=10, channel="email", topics=())])
        _, slices = await assert_consistent(engine)
        topic_rows = {k[1]: r["n"] for k, r in slices.items() if k[0] == "topic"}
        channel_rows = {k[5]: r["n"] for k, r in slices.items() if k[0] == "channel"}
        assert (topic_rows, channel_rows) == ({"": 1}, {"email": 1})

    async def test_delete_takes_the_fact_out_of_every_slice(
        self, writer: FeedbackWriter, engine: AsyncEngine
    ) -> None:
        await _write(writer, [enriched("a", nps=10), enriched("b", nps=0, topics=())])
        await _write(writer, [enriched("a", revision="2", deleted=True)])
        _, slices = await assert_consistent(engine)
        assert {k[0]: r["nps_detractors"] for k, r in slices.items()} == {
            "touchpoint": 1,
            "stage": 1,
            "channel": 1,
            "touchpoint_channel": 1,
            "touchpoint_survey": 1,
            "topic": 1,
            "topic_touchpoint": 1,
            "topic_channel": 1,
            "touchpoint_day": 1,
            "channel_day": 1,
            "topic_touchpoint_day": 1,
            "stage_day": 1,
            "topic_day": 1,
        }
        assert {k[1] for k, r in slices.items()} == {""}

    async def test_duplicate_and_stale_versions_leave_the_slices_untouched(
        self, writer: FeedbackWriter, engine: AsyncEngine
    ) -> None:
        await _write(writer, [enriched("a", revision="2", nps=9, topics=("pricing",))])
        before = await incremental(engine)
        await _write(writer, [enriched("a", revision="2", nps=9, topics=("pricing",))])
        await _write(writer, [enriched("a", revision="1", nps=0, topics=("returns",))])
        assert await incremental(engine) == before


class TestRemapMovesSlices:
    async def test_remap_moves_slice_rows_and_a_second_run_changes_nothing(
        self, engine: AsyncEngine, written: list[EnrichedFeedbackEvent], tmp_path: Path
    ) -> None:
        catalog = tmp_path / "journey.yaml"
        catalog.write_text(CATALOG, encoding="utf-8")
        journey = load_journey(catalog)
        sessions = create_sessionmaker(engine)
        summary = await remap(sessions, journey, batch_size=40)
        assert summary.moved > 50 and summary.slice_rows > 0
        after = await assert_consistent(engine)
        assert {k[2] for k in after[1] if k[0] == "touchpoint"} <= {
            "website",
            "checkout",
            "delivery",
            "brand",
        }
        again = await remap(sessions, journey, batch_size=40)
        assert (again.moved, again.rollup_rows, again.slice_rows) == (0, 0, 0)
        assert await incremental(engine) == after


class TestRebuild:
    async def test_rebuild_repairs_damaged_rows_and_slices_only_keeps_the_rollups(
        self, engine: AsyncEngine, written: list[EnrichedFeedbackEvent]
    ) -> None:
        want = await assert_consistent(engine)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE score_slices SET n = n + 7 WHERE slice = 'topic'"))
            await conn.execute(text("DELETE FROM score_slices WHERE slice = 'channel'"))
        async with create_sessionmaker(engine).begin() as session:
            summary = await rebuild(session, rollups=False)
        assert summary.rollup_rows is None
        assert summary.slice_rows["channel"] == sum(k[0] == "channel" for k in want[1])
        assert await incremental(engine) == want

    async def test_rebuild_writes_rollups_from_facts_alone(
        self, engine: AsyncEngine, written: list[EnrichedFeedbackEvent]
    ) -> None:
        want = await assert_consistent(engine)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE score_rollups SET nps_n = nps_n + 1"))
        async with create_sessionmaker(engine).begin() as session:
            summary = await rebuild(session)
        assert summary.rollup_rows == len(want[0])
        assert sum(summary.slice_rows.values()) == len(want[1])
        assert await incremental(engine) == want

    async def test_rebuild_with_nothing_to_do_is_refused(self, engine: AsyncEngine) -> None:
        async with create_sessionmaker(engine)() as session:
            with pytest.raises(ValueError, match="nothing to rebuild"):
                await rebuild(session, rollups=False, slices=False)

    async def test_topics_the_writer_never_stores_are_read_as_the_writer_would(
        self, engine: AsyncEngine
    ) -> None:
        odd: list[Any] = [
            [{"label": "pricing"}, {"label": "pricing", "score": 0.1}],
            [{"score": 0.5}, "delivery", {"label": 5}, {"label": None}],
            [{"label": "returns"}, ["billing"], {"label": "other"}],
            {"label": "delivery"},
            [],
        ]
        rows = []
        for i, topics in enumerate(odd):
            fact = fact_from_event(enriched(f"odd-{i}", nps=i, sentiment=("negative", -0.5)))
            rows.append({**fact, "topics": topics})
        async with engine.begin() as conn:
            await conn.execute(insert(feedback_facts), rows)
        async with create_sessionmaker(engine).begin() as session:
            await rebuild(session)
        _, slices = await incremental(engine)
        assert slices == expected_slices(rows)
        by_topic = {k[1]: r["n"] for k, r in slices.items() if k[0] == "topic"}
        assert by_topic == {"pricing": 1, "": 3, "returns": 1, "other": 1}
        keys = {k for f in rows for k in slice_keys(f)}  # the writer's reading of the same rows
        assert keys == set(slices)

    async def test_rebuild_waits_for_a_writer_transaction_in_flight(
        self, engine: AsyncEngine, written: list[EnrichedFeedbackEvent]
    ) -> None:
        late = [
            fact_from_event(enriched(f"late-{i}", nps=9, topics=("billing",))) for i in range(5)
        ]
        sessions = create_sessionmaker(engine)
        async with sessions.begin() as session:  # the writer's transaction, paused before commit
            plan = service.plan(service.collapse(late), await repository.lock_facts(session, []))
            await repository.upsert_facts(session, plan.facts, [])
            await repository.apply_deltas(session, plan.deltas)
            await repository.apply_slice_deltas(session, plan.slice_deltas)
            task = asyncio.create_task(_rebuild_in_own_transaction(engine))
            await eventually(lambda: _waiting(engine, "ShareRowExclusiveLock"), timeout_s=10)
            assert not task.done()
        await task
        await assert_consistent(engine)

    async def test_writer_waits_for_a_running_rebuild_and_nothing_is_lost(
        self, writer: FeedbackWriter, engine: AsyncEngine, written: list[EnrichedFeedbackEvent]
    ) -> None:
        late = [enriched(f"late-{i}", nps=i % 11, topics=("billing",)) for i in range(20)]
        async with create_sessionmaker(engine).begin() as session:
            await rebuild(session)
            batch = asyncio.create_task(_write(writer, late))
            await eventually(lambda: _waiting(engine, "RowExclusiveLock"), timeout_s=10)
            assert not batch.done()
        await batch
        await assert_consistent(engine)
        assert len(await facts(engine)) == 320


async def _rebuild_in_own_transaction(engine: AsyncEngine) -> None:
    async with create_sessionmaker(engine).begin() as session:
        await rebuild(session)


async def _waiting(engine: AsyncEngine, mode: str) -> bool:
    """A transaction waits for a table lock of `mode` on feedback_facts (not on a row)."""
    async with engine.connect() as conn:
        waiting = await conn.execute(
            text(
                "SELECT count(*) FROM pg_locks AS l JOIN pg_class AS c ON c.oid = l.relation "
                "WHERE NOT l.granted AND c.relname = 'feedback_facts' AND l.mode = :mode"
            ),
            {"mode": mode},
        )
        return bool(waiting.scalar_one())
