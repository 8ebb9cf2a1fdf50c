"""API-key auth on the real PostgreSQL: 401 for no, bad or revoked keys, 403 for a missing
scope, 200 for the right one, ops routes open, last use recorded, a read-only role enough."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from services.api import keys
from services.api.keys import ADMIN, FEEDBACK_READ, SCORES_READ
from services.api.keys_repository import KeyRepository
from services.api.settings import AuthSettings
from services.metrics.migrate import upgrade
from shared.db import async_url
from shared.embedded import EmbeddedPostgres, free_port
from shared.tables import api_keys
from tests.helpers import eventually
from tests.integration.api.conftest import create_database, open_client

ROUTES = {
    "/v1/scores": SCORES_READ,
    "/v1/scores/compare?metric=nps": SCORES_READ,
    "/v1/touchpoints": SCORES_READ,
    "/v1/feedback": FEEDBACK_READ,
}
OPEN_ROUTES = ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json")


async def add_key(engine: AsyncEngine, *scopes: str, revoked: bool = False) -> str:
    """A stored key with these scopes, as `voc api-key create` makes it; the whole key."""
    new = keys.generate()
    async with AsyncSession(engine) as session, session.begin():
        repo = KeyRepository(session)
        await repo.create(new, "test", list(scopes))
        if revoked:
            await repo.revoke(new.id)
    return new.key


async def revoke(engine: AsyncEngine, key: str) -> None:
    async with AsyncSession(engine) as session, session.begin():
        await KeyRepository(session).revoke(key.split("_")[1])


async def last_used(engine: AsyncEngine, key: str) -> datetime | None:
    async with engine.connect() as conn:
        stmt = select(api_keys.c.last_used_at).where(api_keys.c.id == key.split("_")[1])
        value: datetime | None = (await conn.execute(stmt)).scalar_one()
        return value


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def status(client: httpx.AsyncClient, key: str, path: str = "/v1/touchpoints") -> int:
    return (await client.get(path, headers=bearer(key))).status_code


def assert_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == error
    return body


@pytest.fixture(scope="module")
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    # No lookup cache: every request sees the table as it is now.
    async for c in open_client(database_url, auth=AuthSettings(cache_ttl_s=0)):
        yield c


async def reader_database(postgres: EmbeddedPostgres) -> tuple[str, str]:
    """A database migrated to head with docker-compose's read-only `voc_reader` role set up as
    deploy/postgres/initdb/10-reader-role.sql does; its owner's and the reader's URLs."""
    server = create_async_engine(async_url(postgres.uri("postgres")), isolation_level="AUTOCOMMIT")
    async with server.connect() as conn:
        # Roles are per server, and the server is shared by the session: create it once.
        if not await conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = 'voc_reader'")):
            await conn.execute(text("CREATE ROLE voc_reader LOGIN"))
            await conn.execute(text("ALTER ROLE voc_reader SET default_transaction_read_only = on"))
    await server.dispose()
    url = await create_database(postgres, tables=False)
    owner = create_async_engine(async_url(url))
    async with owner.begin() as conn:
        await conn.execute(text("GRANT USAGE ON SCHEMA public TO voc_reader"))
        await conn.execute(
            text("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO voc_reader")
        )
    await owner.dispose()
    await asyncio.to_thread(upgrade, url)
    return url, url.replace("postgresql://postgres@", "postgresql://voc_reader@")


class TestApiKeyAuth:
    async def test_a_request_without_a_key_is_401_with_a_bearer_challenge(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/v1/scores")
        body = assert_error(response, 401, "unauthorized")
        assert "Authorization: Bearer" in body["detail"]
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_another_authorization_scheme_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/scores", headers={"Authorization": "Basic dm9jOnZvYw=="})
        assert_error(response, 401, "unauthorized")

    @pytest.mark.parametrize("token", ["nonsense", "voc_123_abc", "voc__" + "a" * 43])
    async def test_a_malformed_key_is_401_invalid_token(
        self, client: httpx.AsyncClient, token: str
    ) -> None:
        response = await client.get("/v1/scores", headers=bearer(token))
        assert assert_error(response, 401, "unauthorized")["detail"] == "invalid API key"
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'

    async def test_a_well_formed_key_that_was_never_issued_is_401(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/v1/scores", headers=bearer(keys.generate().key))
        assert assert_error(response, 401, "unauthorized")["detail"] == "invalid API key"

    async def test_a_wrong_secret_for_an_issued_key_id_is_401_like_an_unknown_key(
        self, client: httpx.AsyncClient, writer: AsyncEngine
    ) -> None:
        key = await add_key(writer, SCORES_READ)
        forged = key[:-1] + ("A" if key[-1] != "A" else "B")
        response = await client.get("/v1/scores", headers=bearer(forged))
        assert assert_error(response, 401, "unauthorized")["detail"] == "invalid API key"

    async def test_a_revoked_key_is_401(
        self, client: httpx.AsyncClient, writer: AsyncEngine
    ) -> None:
        key = await add_key(writer, SCORES_READ, revoked=True)
        response = await client.get("/v1/scores", headers=bearer(key))
        assert assert_error(response, 401, "unauthorized")["detail"] == "API key revoked"

    async def test_a_key_revoked_while_in_use_is_refused_on_the_next_request(
        self, client: httpx.AsyncClient, writer: AsyncEngine
    ) -> None:
        key = await add_key(writer, SCORES_READ)
        assert (await client.get("/v1/touchpoints", headers=bearer(key))).status_code == 200
        await revoke(writer, key)
        assert_error(await client.get("/v1/touchpoints", headers=bearer(key)), 401, "unauthorized")

    async def test_a_revoke_reaches_a_cached_key_once_its_cache_entry_expires(
        self, database_url: str, writer: AsyncEngine
    ) -> None:
        key = await add_key(writer, SCORES_READ)
        async for cached in open_client(database_url, auth=AuthSettings(cache_ttl_s=0.3)):
            assert (await cached.get("/v1/touchpoints", headers=bearer(key))).status_code == 200
            await revoke(writer, key)
            assert await eventually(partial(status, cached, key), lambda s: s == 401) == 401
            metrics = (await cached.get("/metrics")).text
            assert 'voc_api_auth_key_lookups_total{source="database"}' in metrics
            assert 'voc_api_auth_rejections_total{reason="revoked"} 1.0' in metrics

    async def test_a_scores_key_is_403_on_verbatims_naming_the_missing_scope(
        self, client: httpx.AsyncClient, writer: AsyncEngine
    ) -> None:
        key = await add_key(writer, SCORES_READ)
        response = await client.get("/v1/feedback", headers=bearer(key))
        assert FEEDBACK_READ in assert_error(response, 403, "forbidden")["detail"]
        assert response.headers["www-authenticate"] == (
            'Bearer error="insufficient_scope", scope="feedback:read"'
        )

    async def test_a_feedback_key_is_403_on_scores(
        self, client: httpx.AsyncClient, writer: AsyncEngine
    ) -> None:
        key = await add_key(writer, FEEDBACK_READ)
        for path in ("/v1/scores", "/v1/scores/compare", "/v1/touchpoints"):
            response = await client.get(path, headers=bearer(key))
            assert SCORES_READ in assert_error(response, 403, "forbidden")["detail"], path

    @pytest.mark.parametrize(("path", "scope"), ROUTES.items())
    async def test_a_key_with_the_routes_scope_gets_200(
        self, client: httpx.AsyncClient, writer: AsyncEngine, path: str, scope: str
    ) -> None:
        key = await add_key(writer, scope)
        response = await client.get(path, headers=bearer(key))
        assert response.status_code == 200, response.text

    async def test_an_admin_key_reads_every_route(
        self, client: httpx.AsyncClient, writer: AsyncEngine
    ) -> None:
        key = await add_key(writer, ADMIN)
        for path in ROUTES:
            assert (await client.get(path, headers=bearer(key))).status_code == 200, path

    async def test_csv_exports_need_the_same_scope(
        self, client: httpx.AsyncClient, writer: AsyncEngine
    ) -> None:
        key = await add_key(writer, SCORES_READ)
        csv = await client.get("/v1/scores", params={"format": "csv"}, headers=bearer(key))
        assert csv.status_code == 200, csv.text
        response = await client.get("/v1/feedback", params={"format": "csv"}, headers=bearer(key))
        assert_error(response, 403, "forbidden")

    @pytest.mark.parametrize("path", OPEN_ROUTES)
    async def test_ops_routes_and_the_docs_need_no_key(
        self, client: httpx.AsyncClient, path: str
    ) -> None:
        assert (await client.get(path)).status_code == 200

    async def test_a_request_without_a_key_is_refused_before_its_parameters_are_checked(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/v1/scores", params={"granularity": "fortnight"})
        assert_error(response, 401, "unauthorized")

    async def test_refusals_are_counted_by_reason(self, client: httpx.AsyncClient) -> None:
        await client.get("/v1/scores")
        metrics = (await client.get("/metrics")).text
        assert 'voc_api_auth_rejections_total{reason="missing"}' in metrics
        assert 'route="/v1/scores",status="401"' in metrics


class TestLastUsed:
    async def test_first_use_records_last_used_at_and_a_second_within_a_minute_writes_nothing(
        self, client: httpx.AsyncClient, writer: AsyncEngine
    ) -> None:
        key = await add_key(writer, SCORES_READ)
        assert await last_used(writer, key) is None
        assert (await client.get("/v1/touchpoints", headers=bearer(key))).status_code == 200
        first = await last_used(writer, key)
        assert first is not None
        assert (await client.get("/v1/touchpoints", headers=bearer(key))).status_code == 200
        assert await last_used(writer, key) == first

    async def test_a_refused_key_records_no_use(
        self, client: httpx.AsyncClient, writer: AsyncEngine
    ) -> None:
        key = await add_key(writer, SCORES_READ)
        assert (await client.get("/v1/feedback", headers=bearer(key))).status_code == 403
        assert await last_used(writer, key) is None

    async def test_the_read_only_reader_role_authenticates_and_records_last_use(
        self, postgres: EmbeddedPostgres
    ) -> None:
        url, reader_url = await reader_database(postgres)
        owner = create_async_engine(async_url(url))
        reader_engine = create_async_engine(async_url(reader_url))
        try:
            key = await add_key(owner, SCORES_READ)
            async for reader in open_client(reader_url, auth=AuthSettings()):
                assert await status(reader, key) == 200
            assert await last_used(owner, key) is not None
            # ...and nothing else: the role cannot un-revoke or re-scope a key.
            with pytest.raises(DBAPIError, match="permission denied"):
                async with reader_engine.begin() as conn:
                    await conn.execute(text("SET TRANSACTION READ WRITE"))
                    await conn.execute(update(api_keys).values(revoked_at=None))
        finally:
            await owner.dispose()
            await reader_engine.dispose()


class TestAuthSwitchedOff:
    async def test_with_auth_disabled_every_route_answers_without_a_key(
        self, database_url: str
    ) -> None:
        async for open_api in open_client(database_url, auth=AuthSettings(enabled=False)):
            for path in ROUTES:
                assert (await open_api.get(path)).status_code == 200, path


class TestAuthWithoutDatabase:
    async def test_a_key_that_cannot_be_looked_up_is_503_not_401(self) -> None:
        url = f"postgresql://postgres@127.0.0.1:{free_port()}/voc"
        async for refused in open_client(url, auth=AuthSettings()):
            response = await refused.get("/v1/scores", headers=bearer(keys.generate().key))
            assert_error(response, 503, "database_unavailable")
            assert int(response.headers["retry-after"]) > 0
