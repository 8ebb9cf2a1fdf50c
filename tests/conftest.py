"""Session-wide real infrastructure: one embedded Tansu broker and one embedded PostgreSQL.

Each test gets its own topics / consumer groups (via `unique`) so tests never see each other's
records. Markers follow the folder: tests/unit, tests/integration, tests/e2e.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from shared.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from shared.settings import DatabaseSettings, KafkaSettings

os.environ.setdefault("VOC_ENV", "test")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        for marker in ("unit", "integration", "e2e"):
            if marker in parts:
                item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    b = EmbeddedBroker(free_port()).start()
    yield b
    b.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    os.environ["VOC_PG_FSYNC_OFF"] = "1"  # test data is throwaway; durability costs seconds
    # Not under pytest's basetemp: pytest prunes old basetemps, which would pull the data
    # directory from under a server that another pytest session on the machine still runs.
    home = Path(tempfile.mkdtemp(prefix="voc-test-pg-"))
    pg = EmbeddedPostgres(home / "data", free_port()).start()
    yield pg
    pg.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def kafka_settings(broker: EmbeddedBroker) -> KafkaSettings:
    # Short group timeouts: group join takes about session_timeout / 2 on Tansu (INFRA.md).
    return KafkaSettings(
        bootstrap_servers=broker.bootstrap,
        session_timeout_ms=3000,
        heartbeat_interval_ms=300,
        request_timeout_ms=5000,
        fetch_timeout_ms=200,
        commit_timeout_s=5,
    )


@pytest.fixture(scope="session")
def database_settings(postgres: EmbeddedPostgres) -> DatabaseSettings:
    return DatabaseSettings(url=postgres.uri())


@pytest.fixture
def unique() -> str:
    """A short random suffix for per-test topic and group names."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def admin(kafka_settings: KafkaSettings) -> AsyncIterator[object]:
    from aiokafka.admin import AIOKafkaAdminClient

    client = AIOKafkaAdminClient(bootstrap_servers=kafka_settings.bootstrap_servers)
    await client.start()
    yield client
    await client.close()
