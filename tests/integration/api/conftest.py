"""A fresh database per test module (tables from shared.tables) and an api client on it.

The client runs with API-key auth off unless a test passes `auth`: only test_auth.py is about it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.api.app import create_app
from services.api.settings import ApiSettings, AuthSettings
from shared.db import async_url
from shared.embedded import EmbeddedPostgres
from shared.settings import DatabaseSettings
from shared.tables import metadata

MIN_N = 30


async def create_database(postgres: EmbeddedPostgres, *, tables: bool = True) -> str:
    """CREATE DATABASE api_<random>, optionally with the storage-contract tables; its URL."""
    name = f"api_{uuid.uuid4().hex[:12]}"
    server = create_async_engine(async_url(postgres.uri("postgres")), isolation_level="AUTOCOMMIT")
    async with server.connect() as conn:
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    await server.dispose()
    url = postgres.uri(name)
    if tables:
        engine = create_async_engine(async_url(url))
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await engine.dispose()
    return url


@pytest.fixture(scope="module")
async def database_url(postgres: EmbeddedPostgres) -> str:
    return await create_database(postgres)


@pytest.fixture(scope="module")
async def writer(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A read-write engine for seeding (the api itself only ever reads)."""
    engine = create_async_engine(async_url(database_url))
    yield engine
    await engine.dispose()


async def open_client(
    url: str, query_timeout_s: float = 10.0, auth: AuthSettings | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    settings = ApiSettings(
        database=DatabaseSettings(url=url),
        min_n=MIN_N,
        query_timeout_s=query_timeout_s,
        auth=auth or AuthSettings(enabled=False),
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://api") as client,
    ):
        yield client


@pytest.fixture(scope="module")
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in open_client(database_url):
        yield c
