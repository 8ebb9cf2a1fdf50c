"""docker-compose's database roles, set up as compose does it, on a real PostgreSQL.

Each test starts its own embedded PostgreSQL cluster: roles belong to a cluster, not a
database, and the session's shared server already has a `voc_reader` of its own
(tests/integration/api/test_auth.py), where these scripts need what a new data volume is. The
scripts run through psql, as the postgres image and the `grafana-grants` job run them, as the
owner; the migrations run as the owner too, like the `migrate` job.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from services.metrics.migrate import upgrade
from shared.embedded import EmbeddedPostgres, free_port

REPO = Path(__file__).resolve().parents[3]
INITDB = REPO / "deploy" / "postgres" / "initdb"
READER_SQL = INITDB / "10-reader-role.sql"
GRAFANA_SQL = INITDB / "20-grafana-role.sql"
OWNER = "voc"
PASSWORDS = {
    "POSTGRES_READER_PASSWORD": "reader-pw",
    "POSTGRES_GRAFANA_PASSWORD": "grafana-pw-1",
}
GRAFANA_TABLES = ("feedback_facts", "score_rollups", "score_slices")
# What the api reads and Grafana must not: the BI keys' hashed secrets, the alerts.
HIDDEN_TABLES = ("api_keys", "alerts", "alert_notifications", "alembic_version")


@dataclass
class Cluster:
    """A fresh server (a new data volume) with the compose owner `voc` and database `voc`."""

    pg: EmbeddedPostgres

    def url(self, user: str = OWNER, password: str = "") -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://{user}{secret}@{self.pg.host}:{self.pg.port}/voc"

    def psql(self, script: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        """Run `script` as the image's initdb and the grants job do: the owner, stop on error."""
        psql = self.pg._bin("psql")
        return subprocess.run(
            [psql, "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-f", str(script)],
            env={
                "PATH": os.environ.get("PATH", ""),
                "PGHOST": self.pg.host,
                "PGPORT": str(self.pg.port),
                "PGUSER": OWNER,
                "PGDATABASE": "voc",
                **env,
            },
            capture_output=True,
            text=True,
            timeout=60,
        )

    def run_ok(self, script: Path, env: dict[str, str] = PASSWORDS) -> str:
        done = self.psql(script, env)
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    async def migrate(self) -> None:
        await asyncio.to_thread(upgrade, self.url())

    async def fetchval(self, sql: str, user: str = OWNER) -> object:
        conn = await asyncpg.connect(self.url(user))
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    async def readable(self, user: str, table: str) -> bool:
        """Whether `user` may SELECT from `table`: False on PostgreSQL's "permission denied"."""
        try:
            await self.fetchval(f"SELECT count(*) FROM {table}", user)
        except asyncpg.InsufficientPrivilegeError as e:
            assert f"permission denied for table {table}" in str(e)
            return False
        return True


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    home = Path(tempfile.mkdtemp(prefix="voc-test-pg-roles-"))
    pg = EmbeddedPostgres(home / "data", free_port()).start()
    try:
        # The postgres image's POSTGRES_USER: the superuser that owns POSTGRES_DB.
        subprocess.run(
            [pg._bin("psql"), "-h", pg.host, "-p", str(pg.port), "-U", "postgres", "-d", "voc",
             "-v", "ON_ERROR_STOP=1",
             "-c", f"CREATE ROLE {OWNER} LOGIN SUPERUSER",
             "-c", f"ALTER DATABASE voc OWNER TO {OWNER}",
             "-c", f"ALTER SCHEMA public OWNER TO {OWNER}"],
            check=True, capture_output=True,
        )  # fmt: skip
        yield Cluster(pg)
    finally:
        pg.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
async def fresh_volume(cluster: Cluster) -> AsyncIterator[Cluster]:
    """A new volume: the image ran every initdb script, then the migrate job ran."""
    for script in sorted(INITDB.glob("*.sql")):
        cluster.run_ok(script)
    await cluster.migrate()
    yield cluster


async def has_grafana_role(cluster: Cluster) -> bool:
    """Whether voc_grafana exists, as a login role without superpowers."""
    role = await cluster.fetchval(
        "SELECT rolcanlogin AND NOT (rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls)"
        " FROM pg_roles WHERE rolname = 'voc_grafana'"
    )
    assert role in (None, True), "voc_grafana has more rights than a login"
    return role is True


async def readable_tables(cluster: Cluster, user: str) -> set[str]:
    tables = await cluster.fetchval(
        "SELECT array_agg(tablename::text) FROM pg_tables WHERE schemaname = 'public'"
    )
    assert isinstance(tables, list) and set(GRAFANA_TABLES + HIDDEN_TABLES) <= set(tables)
    return {t for t in tables if await cluster.readable(user, t)}


class TestFreshVolume:
    async def test_initdb_creates_the_role_but_cannot_grant_tables_that_do_not_exist_yet(
        self, fresh_volume: Cluster
    ) -> None:
        assert await has_grafana_role(fresh_volume)
        # No default privileges: the migrations' tables are not Grafana's until the job runs.
        assert await readable_tables(fresh_volume, "voc_grafana") == set()

    async def test_after_the_grants_job_grafana_reads_exactly_the_three_tables(
        self, fresh_volume: Cluster
    ) -> None:
        fresh_volume.run_ok(GRAFANA_SQL)
        assert await readable_tables(fresh_volume, "voc_grafana") == set(GRAFANA_TABLES)
        for table in ("api_keys", "alerts"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
                await fresh_volume.fetchval(f"SELECT * FROM {table} LIMIT 1", "voc_grafana")

    async def test_the_api_reader_still_reads_every_table(self, fresh_volume: Cluster) -> None:
        fresh_volume.run_ok(GRAFANA_SQL)
        everything = await readable_tables(fresh_volume, OWNER)
        assert await readable_tables(fresh_volume, "voc_reader") == everything

    async def test_a_table_a_later_migration_adds_stays_hidden_from_grafana(
        self, fresh_volume: Cluster
    ) -> None:
        fresh_volume.run_ok(GRAFANA_SQL)
        await fresh_volume.fetchval("CREATE TABLE later_secrets (token text)")
        # The job runs again after every migrate: it still grants only the three.
        fresh_volume.run_ok(GRAFANA_SQL)
        assert not await fresh_volume.readable("voc_grafana", "later_secrets")
        assert await fresh_volume.readable("voc_reader", "later_secrets")
        assert await readable_tables(fresh_volume, "voc_grafana") == set(GRAFANA_TABLES)

    async def test_a_grant_made_by_hand_is_taken_back_by_the_next_run(
        self, fresh_volume: Cluster
    ) -> None:
        await fresh_volume.fetchval("GRANT SELECT ON api_keys TO voc_grafana")
        assert await fresh_volume.readable("voc_grafana", "api_keys")
        fresh_volume.run_ok(GRAFANA_SQL)
        assert not await fresh_volume.readable("voc_grafana", "api_keys")

    async def test_grafana_sessions_are_read_only(self, fresh_volume: Cluster) -> None:
        fresh_volume.run_ok(GRAFANA_SQL)
        setting = await fresh_volume.fetchval("SHOW default_transaction_read_only", "voc_grafana")
        assert setting == "on"
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await fresh_volume.fetchval("DELETE FROM score_slices", "voc_grafana")


async def logs_in(cluster: Cluster, user: str, password: str) -> bool:
    try:
        conn = await asyncpg.connect(cluster.url(user, password))
    except asyncpg.InvalidPasswordError:
        return False
    await conn.close()
    return True


def require_passwords(cluster: Cluster, user: str) -> None:
    """Put password authentication in front of the embedded server's trust rule for `user`."""
    hba = cluster.pg.datadir / "pg_hba.conf"
    rule = f"host all {user} 127.0.0.1/32 scram-sha-256\n"
    hba.write_text(rule + hba.read_text())


class TestGrantsJob:
    async def test_a_volume_from_before_the_script_gets_the_role_from_the_job(
        self, cluster: Cluster
    ) -> None:
        cluster.run_ok(READER_SQL)  # what initdb ran on a volume older than 20-grafana-role.sql
        await cluster.migrate()
        assert not await has_grafana_role(cluster)
        cluster.run_ok(GRAFANA_SQL)
        assert await readable_tables(cluster, "voc_grafana") == set(GRAFANA_TABLES)

    async def test_the_role_logs_in_with_the_password_of_the_environment(
        self, fresh_volume: Cluster
    ) -> None:
        fresh_volume.run_ok(GRAFANA_SQL)
        require_passwords(fresh_volume, "voc_grafana")
        await fresh_volume.fetchval("SELECT pg_reload_conf()")
        assert await logs_in(fresh_volume, "voc_grafana", "grafana-pw-1")
        assert not await logs_in(fresh_volume, "voc_grafana", "wrong")
        # A changed POSTGRES_GRAFANA_PASSWORD reaches the database at the job's next run.
        fresh_volume.run_ok(GRAFANA_SQL, {**PASSWORDS, "POSTGRES_GRAFANA_PASSWORD": "grafana-pw-2"})
        assert await logs_in(fresh_volume, "voc_grafana", "grafana-pw-2")
        assert not await logs_in(fresh_volume, "voc_grafana", "grafana-pw-1")

    @pytest.mark.parametrize("password", [None, ""])
    async def test_without_a_password_the_script_fails_and_creates_nothing(
        self, cluster: Cluster, password: str | None
    ) -> None:
        env = {k: v for k, v in PASSWORDS.items() if k != "POSTGRES_GRAFANA_PASSWORD"}
        if password is not None:
            env["POSTGRES_GRAFANA_PASSWORD"] = password
        done = cluster.psql(GRAFANA_SQL, env)
        assert done.returncode != 0
        assert "POSTGRES_GRAFANA_PASSWORD is not set or empty" in done.stderr
        assert not await has_grafana_role(cluster)
