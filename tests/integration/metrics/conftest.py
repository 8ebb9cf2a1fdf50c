"""Fixtures for the metrics writer: a fresh, migrated database per test, per-test topics and
consumer group (helpers live in support.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics.migrate import upgrade
from services.metrics.settings import MetricsSettings
from shared.db import create_engine
from shared.embedded import EmbeddedPostgres
from shared.events import DLQ_TOPIC
from shared.kafka import create_producer, ensure_topics
from shared.settings import DatabaseSettings, KafkaSettings
from tests.integration.metrics.support import PARTITIONS


@pytest.fixture
async def metrics_db(postgres: EmbeddedPostgres, unique: str) -> AsyncIterator[DatabaseSettings]:
    """A new database with the metrics migrations applied; dropped afterwards."""
    name = f"metrics_{unique}"
    admin = await asyncpg.connect(postgres.uri("postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = postgres.uri(name)
    await asyncio.to_thread(upgrade, url)  # alembic's env runs its own event loop
    yield DatabaseSettings(url=url, pool_size=5)
    admin = await asyncpg.connect(postgres.uri("postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def engine(metrics_db: DatabaseSettings) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(metrics_db)
    yield eng
    await eng.dispose()


@pytest.fixture
async def topic(kafka_settings: KafkaSettings, unique: str) -> str:
    name = f"test.enriched.{unique}"
    await ensure_topics(kafka_settings, partitions=PARTITIONS, topics=[name, DLQ_TOPIC])
    return name


@pytest.fixture
def metrics_settings(
    kafka_settings: KafkaSettings, metrics_db: DatabaseSettings, topic: str, unique: str
) -> MetricsSettings:
    return MetricsSettings(
        kafka=kafka_settings,
        database=metrics_db,
        group_id=f"metrics-{unique}",
        topics=[topic],
        retry_max_backoff_s=0.5,
        shutdown_timeout_s=10,
    )


@pytest.fixture
async def producer(kafka_settings: KafkaSettings) -> AsyncIterator[AIOKafkaProducer]:
    p = create_producer(kafka_settings, client_id="metrics-tests")
    await p.start()
    yield p
    await p.stop()
