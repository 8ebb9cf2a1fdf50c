"""`voc rollups-rebuild` as an operator runs it: a process against a real database; and
`--truncate`, which must write exactly the rows the DELETE rebuild writes, but holds readers
off until its commit where the default lets them read the old rows."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.metrics.handlers import FeedbackWriter
from services.metrics.models import fact_from_event
from services.metrics.rebuild import rebuild
from services.metrics.telemetry import MetricsTelemetry
from shared.db import create_sessionmaker
from shared.embedded import free_port
from shared.settings import DatabaseSettings
from shared.tables import ROLLUP_DIMENSIONS, score_rollups, score_slices
from tests.helpers import eventually
from tests.integration.metrics.slices_support import (
    expected_rollups,
    expected_slices,
    facts,
    history,
    stored,
)

REPO = Path(__file__).resolve().parents[3]
T_STRAY = datetime(2026, 1, 1, tzinfo=UTC)


async def voc(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "shared.cli", "rollups-rebuild", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _damage(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE score_slices SET n = n + 1 WHERE slice = 'stage'"))
        await conn.execute(text("UPDATE score_rollups SET csat_n = csat_n + 1"))


class TestRebuildCli:
    async def test_dry_run_reports_and_changes_nothing_then_a_run_repairs(
        self, engine: AsyncEngine, metrics_db: DatabaseSettings
    ) -> None:
        writer = FeedbackWriter(create_sessionmaker(engine), MetricsTelemetry(CollectorRegistry()))
        for batch in history(120, seed=5):
            await writer.write([fact_from_event(e) for e in batch])
        await _damage(engine)
        async with engine.connect() as conn:
            damaged = await stored(conn)
        live = await facts(engine)
        want = (expected_rollups(live), expected_slices(live))

        dry = await voc("--dry-run", "--url", metrics_db.url)
        assert dry.returncode == 0, dry.stderr[-2000:]
        head = next(x for x in dry.stdout.splitlines() if x.startswith("rollups-rebuild:"))
        assert head.startswith(
            f"rollups-rebuild: would write score_rollups {len(want[0])} rows, "
            f"score_slices {len(want[1])} rows in "
        )
        assert head.endswith("(dry run: nothing written)")
        assert f"  stage: {sum(k[0] == 'stage' for k in want[1])}" in dry.stdout
        async with engine.connect() as conn:
            assert await stored(conn) == damaged

        real = await voc("--url", metrics_db.url)
        assert real.returncode == 0, real.stderr[-2000:]
        assert "rollups-rebuild: wrote score_rollups" in real.stdout
        async with engine.connect() as conn:
            assert await stored(conn) == want

    async def test_slices_only_keeps_the_rollups_as_they_are(
        self, engine: AsyncEngine, metrics_db: DatabaseSettings
    ) -> None:
        writer = FeedbackWriter(create_sessionmaker(engine), MetricsTelemetry(CollectorRegistry()))
        await writer.write([fact_from_event(e) for e in history(40, seed=6)[0]])
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE score_slices SET n = 0"))
            await conn.execute(text("UPDATE score_rollups SET stars_n = stars_n + 2"))
        async with engine.connect() as conn:
            rollups_before = (await stored(conn))[0]
        done = await voc("--slices-only", "--url", metrics_db.url)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "score_rollups kept" in done.stdout
        async with engine.connect() as conn:
            rollups, slices = await stored(conn)
        assert rollups == rollups_before
        # Slices without topic follow the (damaged) rollups; topic slices the facts.
        stage_stars = sum(r["stars_n"] for k, r in slices.items() if k[0] == "stage")
        assert stage_stars == sum(r["stars_n"] for r in rollups.values()) > 2 * len(rollups)
        want = expected_slices(await facts(engine))
        topical = {k: r for k, r in want.items() if k[0].startswith("topic")}
        assert {k: r for k, r in slices.items() if k[0].startswith("topic")} == topical

    async def test_unreachable_database_is_a_clear_error(self) -> None:
        url = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
        done = await voc("--url", url)
        assert done.returncode == 2
        assert "rollups-rebuild: cannot use the database" in done.stderr
        assert "Traceback" not in done.stderr

    async def test_the_command_is_listed_in_voc_help(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "shared.cli", "--help"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        listed = " ".join(done.stdout.split())  # argparse wraps the help text
        assert "rollups-rebuild recompute score rollups and slices from the stored facts" in listed


async def _write_history(engine: AsyncEngine, count: int, seed: int) -> None:
    writer = FeedbackWriter(create_sessionmaker(engine), MetricsTelemetry(CollectorRegistry()))
    for batch in history(count, seed=seed):
        await writer.write([fact_from_event(e) for e in batch])


async def raw(conn: AsyncConnection) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every row of both tables as stored, zero rows included, in primary-key order."""
    out = []
    for table in (score_rollups, score_slices):
        stmt = select(table).order_by(*table.primary_key.columns)
        out.append([tuple(r) for r in (await conn.execute(stmt)).all()])
    return out[0], out[1]


async def _rebuilt_by_delete(engine: AsyncEngine) -> tuple[list[Any], list[Any]]:
    """What the DELETE rebuild writes, read in its transaction and rolled back."""
    async with create_sessionmaker(engine)() as session, session.begin() as tx:
        await rebuild(session)
        got = await raw(await session.connection())
        await tx.rollback()
    return got


async def _rebuilt_slices_only(engine: AsyncEngine) -> list[Any]:
    """The slices the DELETE rebuild writes from the kept rollups, rolled back."""
    async with create_sessionmaker(engine)() as session, session.begin() as tx:
        await rebuild(session, rollups=False)
        got = (await raw(await session.connection()))[1]
        await tx.rollback()
    return got


async def _readers_waiting(engine: AsyncEngine) -> int:
    """Transactions waiting for a table lock on score_rollups (a reader's ACCESS SHARE)."""
    async with engine.connect() as conn:
        waiting = await conn.execute(
            text(
                "SELECT count(*) FROM pg_locks AS l JOIN pg_class AS c ON c.oid = l.relation "
                "WHERE NOT l.granted AND c.relname = 'score_rollups' AND l.mode = 'AccessShareLock'"
            )
        )
        return int(waiting.scalar_one())


async def _count_rollups(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM score_rollups"))).scalar_one())


class TestTruncate:
    async def test_truncate_writes_the_rows_the_delete_rebuild_writes(
        self, engine: AsyncEngine, metrics_db: DatabaseSettings
    ) -> None:
        await _write_history(engine, 120, seed=7)
        await _damage(engine)
        by_delete = await _rebuilt_by_delete(engine)
        live = await facts(engine)
        want = (expected_rollups(live), expected_slices(live))

        done = await voc("--truncate", "--url", metrics_db.url)
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"wrote score_rollups {len(want[0])} rows" in done.stdout
        async with engine.connect() as conn:
            assert await raw(conn) == by_delete
            assert await stored(conn) == want
        assert by_delete[0] and by_delete[1]

    async def test_a_truncate_dry_run_changes_nothing(
        self, engine: AsyncEngine, metrics_db: DatabaseSettings
    ) -> None:
        await _write_history(engine, 40, seed=8)
        await _damage(engine)
        async with engine.connect() as conn:
            damaged = await raw(conn)
        done = await voc("--truncate", "--dry-run", "--url", metrics_db.url)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "(dry run: nothing written)" in done.stdout
        async with engine.connect() as conn:
            assert await raw(conn) == damaged

    async def test_truncate_slices_only_keeps_the_rollups(
        self, engine: AsyncEngine, metrics_db: DatabaseSettings
    ) -> None:
        await _write_history(engine, 40, seed=9)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE score_rollups SET stars_n = stars_n + 2"))
            await conn.execute(text("UPDATE score_slices SET n = 0"))
        async with engine.connect() as conn:
            rollups_before = (await raw(conn))[0]
        by_delete = await _rebuilt_slices_only(engine)
        done = await voc("--slices-only", "--truncate", "--url", metrics_db.url)
        assert done.returncode == 0, done.stderr[-2000:]
        async with engine.connect() as conn:
            assert await raw(conn) == (rollups_before, by_delete)

    async def test_readers_wait_for_a_truncate_rebuild_but_not_for_the_default(
        self, engine: AsyncEngine
    ) -> None:
        await _write_history(engine, 40, seed=10)
        await _damage_rows(engine)
        before = await _count_rollups(engine)
        sessions = create_sessionmaker(engine)
        async with sessions.begin() as session:
            summary = await rebuild(session)
            # The default lock lets a reader in: it sees the rows as they were.
            assert await _count_rollups(engine) == before
        after = await _count_rollups(engine)
        # The rebuild dropped the stray row, and the empty rows the writer keeps.
        assert summary.rollup_rows is not None
        assert after == summary.rollup_rows < before
        await _damage_rows(engine)
        async with sessions.begin() as session:
            await rebuild(session, truncate=True)
            reader = asyncio.create_task(_count_rollups(engine))
            await eventually(lambda: _readers_waiting(engine), timeout_s=10)
            assert not reader.done()
        # Released by the commit, the reader sees the rebuilt rows, never an empty table.
        assert await reader == after


async def _damage_rows(engine: AsyncEngine) -> None:
    """One stray rollup row that no fact backs, so a rebuild drops it: a count tells the rows
    before a rebuild from those after it."""
    dims = {d: "" for d in ROLLUP_DIMENSIONS} | {"touchpoint": "stray"}
    async with engine.begin() as conn:
        await conn.execute(insert(score_rollups).values(bucket_start=T_STRAY, n=1, **dims))
