"""`voc rollups-rebuild` as an operator runs it: a process against a real database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics.handlers import FeedbackWriter
from services.metrics.models import fact_from_event
from services.metrics.telemetry import MetricsTelemetry
from shared.db import create_sessionmaker
from shared.embedded import free_port
from shared.settings import DatabaseSettings
from tests.integration.metrics.slices_support import (
    expected_rollups,
    expected_slices,
    facts,
    history,
    stored,
)

REPO = Path(__file__).resolve().parents[3]


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
