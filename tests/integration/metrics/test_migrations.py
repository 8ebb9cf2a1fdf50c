from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import shared.alert_tables  # noqa: F401  (registers the alert tables on metadata)
from services.metrics.migrate import ALEMBIC_INI, upgrade
from shared.settings import DatabaseSettings
from shared.tables import metadata

REPO = Path(__file__).resolve().parents[3]
HEAD = ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_current_head()


async def _version(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())


class TestMigrations:
    async def test_upgrade_creates_the_tables_of_the_storage_contract(
        self, engine: AsyncEngine
    ) -> None:
        def diff(sync_conn: object) -> list[object]:
            ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})  # type: ignore[arg-type]
            return list(compare_metadata(ctx, metadata))

        async with engine.connect() as conn:
            tables = set(
                (
                    await conn.execute(
                        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                    )
                ).scalars()
            )
            changes = await conn.run_sync(diff)
        assert {"feedback_facts", "score_rollups", "alembic_version"} <= tables
        assert changes == []

    async def test_upgrade_twice_is_a_no_op(
        self, metrics_db: DatabaseSettings, engine: AsyncEngine
    ) -> None:
        await asyncio.to_thread(upgrade, metrics_db.url)
        assert await _version(engine) == [HEAD]

    async def test_cli_migrates_the_url_it_is_given_from_another_directory(
        self, metrics_db: DatabaseSettings, engine: AsyncEngine, tmp_path: Path
    ) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "services.metrics.migrate", "--url", metrics_db.url],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        assert await _version(engine) == [HEAD]
