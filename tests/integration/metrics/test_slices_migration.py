"""Migration 0006 backfills score_slices for a deployment that already has facts and rollups:
the result equals what `voc rollups-rebuild` computes, and a plain-Python recomputation. 0010
adds stage_day and topic_day to a deployment at 0009, summed from their hourly twins."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from alembic import command
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics.migrate import alembic_config, upgrade
from services.metrics.models import fact_from_event
from services.metrics.rebuild import rebuild
from services.metrics.service import collapse
from shared.db import create_engine, create_sessionmaker
from shared.embedded import EmbeddedPostgres
from shared.settings import DatabaseSettings
from shared.tables import (
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
    SLICE_DIMENSIONS,
    feedback_facts,
    score_rollups,
    score_slices,
)
from tests.integration.metrics.slices_support import (
    Table,
    expected_rollups,
    expected_slices,
    history,
    labels,
    stored,
)
from tests.unit.metrics.factories import T0, enriched

ODD_TOPICS: list[Any] = [
    [{"label": "pricing"}, {"label": "pricing"}],
    [{"score": 0.5}, "delivery", {"label": 7}],
    {"label": "delivery"},
]


def facts_before_0006() -> list[dict[str, Any]]:
    """The latest version of 240 items (tombstones included) and a few odd topic lists."""
    versions = [fact_from_event(e) for batch in history(240, seed=23) for e in batch]
    facts = collapse(versions).latest
    for i, topics in enumerate(ODD_TOPICS):
        fact = fact_from_event(enriched(f"odd-{i}", csat=i + 2, channel="web"))
        facts.append({**fact, "topics": topics})
    return facts


def rollup_rows(facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rollups a writer before 0006 kept, with a row all of whose facts were deleted."""
    keys = ("bucket_start", *ROLLUP_DIMENSIONS)
    rows = [
        {**dict(zip(keys, key, strict=True)), **measures}
        for key, measures in expected_rollups(facts).items()
    ]
    emptied = {**rows[0], "bucket_start": T0 - timedelta(days=3), "touchpoint": "kiosk"}
    return [*rows, {**emptied, **dict.fromkeys(ROLLUP_MEASURES, 0)}]


# The day twins migration 0010 adds.
NEW_TWINS = ("stage_day", "topic_day")


@pytest.fixture
async def at_0009(postgres: EmbeddedPostgres, unique: str) -> AsyncIterator[tuple[str, Any]]:
    """(url, facts): a database with data at 0005, then migrated to 0009."""
    async with _seeded(postgres, unique, "0009") as url_facts:
        yield url_facts


@pytest.fixture
async def upgraded(postgres: EmbeddedPostgres, unique: str) -> AsyncIterator[tuple[str, Any]]:
    """(url, facts): a database with data at 0005, then migrated to head."""
    async with _seeded(postgres, unique, "head") as url_facts:
        yield url_facts


@asynccontextmanager
async def _seeded(
    postgres: EmbeddedPostgres, unique: str, target: str
) -> AsyncIterator[tuple[str, Any]]:
    """(url, facts): a new database with facts and rollups at 0005, migrated to `target`."""
    name = f"slices_mig_{unique}"
    admin = await asyncpg.connect(postgres.uri("postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = postgres.uri(name)
    await asyncio.to_thread(upgrade, url, "0005")
    facts = facts_before_0006()
    engine = create_engine(DatabaseSettings(url=url))
    async with engine.begin() as conn:
        await conn.execute(insert(feedback_facts), facts)
        await conn.execute(insert(score_rollups), rollup_rows(facts))
    await engine.dispose()
    await asyncio.to_thread(upgrade, url, target)
    try:
        yield url, facts
    finally:
        admin = await asyncpg.connect(postgres.uri("postgres"))
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _slices(engine: AsyncEngine) -> Table:
    async with engine.connect() as conn:
        return (await stored(conn))[1]


async def _rebuilt(engine: AsyncEngine, *, rollups: bool) -> Table:
    async with create_sessionmaker(engine)() as session, session.begin() as tx:
        await rebuild(session, rollups=rollups)
        got = (await stored(await session.connection()))[1]
        await tx.rollback()
    return got


class TestSlicesBackfill:
    async def test_backfill_equals_rebuild_and_the_independent_recomputation(
        self, upgraded: tuple[str, Any]
    ) -> None:
        url, facts = upgraded
        engine = create_engine(DatabaseSettings(url=url))
        try:
            backfilled = await _slices(engine)
            want = expected_slices(facts)
            assert backfilled == want
            async with engine.connect() as conn:
                written = await conn.exec_driver_sql("SELECT count(*) FROM score_slices")
                assert written.scalar_one() == len(want) > 300  # no all-zero row either
            assert await _rebuilt(engine, rollups=False) == want
            assert await _rebuilt(engine, rollups=True) == want
        finally:
            await engine.dispose()

    async def test_downgrade_drops_the_table_and_upgrade_backfills_again(
        self, upgraded: tuple[str, Any]
    ) -> None:
        url, facts = upgraded
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0005")
        engine = create_engine(DatabaseSettings(url=url))
        try:
            async with engine.connect() as conn:
                exists = await conn.exec_driver_sql("SELECT to_regclass('score_slices')")
                assert exists.scalar_one() is None
            await asyncio.to_thread(upgrade, url)
            assert await _slices(engine) == expected_slices(facts)
        finally:
            await engine.dispose()


def _without_new_twins(table: Table) -> Table:
    return {k: v for k, v in table.items() if k[0] not in NEW_TWINS}


async def _zero_stage_row(engine: AsyncEngine) -> None:
    """An hourly `stage` row whose facts all went (the writer keeps such rows at zero)."""
    row = {
        "slice": "stage",
        **dict.fromkeys(SLICE_DIMENSIONS, ""),
        "journey_stage": "kiosk-stage",
        "bucket_start": T0 - timedelta(days=5),
        **dict.fromkeys(ROLLUP_MEASURES, 0),
    }
    async with engine.begin() as conn:
        await conn.execute(insert(score_slices), [row])


async def _counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows per new twin, all-zero rows included."""
    async with engine.connect() as conn:
        rows = await conn.exec_driver_sql(
            "SELECT slice, count(*) FROM score_slices WHERE slice IN ('stage_day', 'topic_day') "
            "GROUP BY slice"
        )
        return {str(r[0]): int(r[1]) for r in rows}


class TestMoreDayTwins:
    async def test_0010_sums_stage_day_and_topic_day_from_their_hourly_twins(
        self, at_0009: tuple[str, Any]
    ) -> None:
        url, facts = at_0009
        want = expected_slices(facts)
        engine = create_engine(DatabaseSettings(url=url))
        try:
            before = await _slices(engine)
            assert before == _without_new_twins(want) and before != want
            await _zero_stage_row(engine)
            await asyncio.to_thread(upgrade, url)
            assert await _slices(engine) == want
            # Every live fact once a day row; topic_day once per distinct label.
            live = [f for f in facts if not f["deleted"]]
            totals = {name: 0.0 for name in NEW_TWINS}
            for key, row in want.items():
                if key[0] in NEW_TWINS:
                    totals[key[0]] += row["n"]
            assert totals == {
                "stage_day": len(live),
                "topic_day": sum(len(labels(f)) for f in live),
            }
            # The emptied hourly row gives no day row: only the rows `want` holds were written.
            assert await _counts(engine) == {
                name: sum(k[0] == name for k in want) for name in NEW_TWINS
            }
            assert await _rebuilt(engine, rollups=False) == want
        finally:
            await engine.dispose()

    async def test_downgrade_to_0009_drops_only_the_new_twins(
        self, upgraded: tuple[str, Any]
    ) -> None:
        url, facts = upgraded
        want = expected_slices(facts)
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0009")
        engine = create_engine(DatabaseSettings(url=url))
        try:
            assert await _slices(engine) == _without_new_twins(want)
            assert await _counts(engine) == {}
            await asyncio.to_thread(upgrade, url)
            assert await _slices(engine) == want
        finally:
            await engine.dispose()
