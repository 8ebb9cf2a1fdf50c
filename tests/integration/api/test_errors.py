"""Invalid parameters are 422 naming the parameter; an unreachable database is 503, not 500."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import async_url
from shared.embedded import EmbeddedPostgres, free_port
from tests.integration.api.conftest import create_database, open_client

ENDPOINTS = [
    "/v1/scores",
    "/v1/scores?format=csv",
    "/v1/scores/compare?metric=nps",
    "/v1/touchpoints",
    "/v1/feedback",
    "/v1/feedback?format=csv",
]


class TestInvalidParameters:
    @pytest.mark.parametrize(
        ("path", "params", "name", "mentions"),
        [
            ("/v1/scores", {"group_by": "touchpoint,bogus"}, "group_by", "'bogus'"),
            ("/v1/scores", {"group_by": "feedback_id"}, "group_by", "'feedback_id'"),
            ("/v1/scores", {"granularity": "year"}, "granularity", "hour"),
            ("/v1/scores", {"from": "yesterday"}, "from", "datetime"),
            ("/v1/scores", {"to": "13/01/2024"}, "to", "datetime"),
            ("/v1/scores", {"from": "2024-02-01", "to": "2024-01-01"}, "from", "earlier"),
            ("/v1/scores", {"from": "2024-01-01", "to": "2024-01-01"}, "from", "earlier"),
            ("/v1/scores", {"touchpoint": "x" * 300}, "touchpoint", "256"),
            ("/v1/scores", {"channel": "web\x00"}, "channel", "pattern"),
            ("/v1/feedback", {"language": "\x00"}, "language", "pattern"),
            ("/v1/scores", {"from": "0001-01-01T00:00:00+05:00"}, "from", "range"),
            ("/v1/feedback", {"limit": "0"}, "limit", "1"),
            ("/v1/feedback", {"limit": "501"}, "limit", "500"),
            ("/v1/feedback", {"limit": "many"}, "limit", "integer"),
            ("/v1/feedback", {"cursor": "not-a-cursor"}, "cursor", "cursor"),
            ("/v1/feedback", {"sentiment": "angry"}, "sentiment", "negative"),
            ("/v1/feedback", {"topic": "weather"}, "topic", "delivery"),
            ("/v1/feedback", {"source_kind": "fax"}, "source_kind", "survey"),
            ("/v1/feedback", {"from": "2024-02-01", "to": "2024-01-01"}, "from", "earlier"),
            ("/v1/scores", {"tz": "Mars/Olympus_Mons"}, "tz", "IANA"),
            ("/v1/scores", {"tz": "localtime"}, "tz", "IANA"),
            ("/v1/scores", {"tz": "../../etc/passwd"}, "tz", "IANA"),
            ("/v1/scores", {"tz": "x" * 65}, "tz", "64"),
            ("/v1/scores", {"limit": "10001"}, "limit", "10000"),
            ("/v1/scores", {"limit": "0"}, "limit", "1"),
            ("/v1/scores", {"limit": "100001", "format": "csv"}, "limit", "100000"),
            ("/v1/scores", {"cursor": "not-a-cursor"}, "cursor", "cursor"),
            ("/v1/scores", {"format": "xml"}, "format", "csv"),
            ("/v1/feedback", {"limit": "100001", "format": "csv"}, "limit", "100000"),
            ("/v1/scores/compare", {}, "metric", "required"),
            ("/v1/scores/compare", {"metric": "mood"}, "metric", "nps"),
            ("/v1/scores/compare", {"metric": "nps", "level": "1.5"}, "level", "0.9999"),
            ("/v1/scores/compare", {"metric": "nps", "level": "0.2"}, "level", "0.5"),
            ("/v1/scores/compare", {"metric": "nps", "tz": "Nowhere"}, "tz", "IANA"),
            (
                "/v1/scores/compare",
                {"metric": "nps", "current_from": "2024-02-01", "current_to": "2024-01-01"},
                "current_from",
                "earlier",
            ),
            (
                "/v1/scores/compare",
                {
                    "metric": "csat",
                    "current_from": "2024-02-01",
                    "current_to": "2024-03-01",
                    "previous_from": "2024-01-15",
                    "previous_to": "2024-02-15",
                },
                "previous_from",
                "overlaps",
            ),
            (
                "/v1/scores/compare",
                {"metric": "ces", "previous_from": "2024-01-15", "previous_to": "2024-01-01"},
                "previous_from",
                "earlier",
            ),
        ],
    )
    async def test_is_422_naming_the_parameter(
        self,
        client: httpx.AsyncClient,
        path: str,
        params: dict[str, str],
        name: str,
        mentions: str,
    ) -> None:
        response = await client.get(path, params=params)
        assert response.status_code == 422
        body = response.json()
        assert body["error"] == "validation_error"
        [problem] = [d for d in body["detail"] if d["loc"] == ["query", name]]
        assert mentions in problem["msg"]


class TestReadiness:
    async def test_ready_when_the_database_answers(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/readyz")
        assert (response.status_code, response.json()["checks"]) == (200, {"database": True})


@pytest.fixture
async def refused() -> AsyncIterator[httpx.AsyncClient]:
    """An api whose database URL points at a port nothing listens on."""
    async for c in open_client(f"postgresql://postgres@127.0.0.1:{free_port()}/voc"):
        yield c


@pytest.fixture
async def silent() -> AsyncIterator[httpx.AsyncClient]:
    """An api whose 'database' accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async for c in open_client(f"postgresql://postgres@127.0.0.1:{port}/voc", query_timeout_s=0.5):
        yield c
    for writer in held:
        writer.close()
    server.close()


@pytest.fixture
async def unmigrated(postgres: EmbeddedPostgres) -> AsyncIterator[httpx.AsyncClient]:
    """An api on a reachable database where the tables do not exist yet."""
    async for c in open_client(await create_database(postgres, tables=False)):
        yield c


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "database_unavailable"
    assert int(response.headers["retry-after"]) > 0


class TestDatabaseUnavailable:
    @pytest.mark.parametrize("path", ENDPOINTS)
    async def test_refused_connection_is_503_with_retry_after(
        self, refused: httpx.AsyncClient, path: str
    ) -> None:
        assert_unavailable(await refused.get(path))

    async def test_refused_connection_makes_readyz_503_and_healthz_stays_200(
        self, refused: httpx.AsyncClient
    ) -> None:
        ready = await refused.get("/readyz")
        assert (ready.status_code, ready.json()["checks"]) == (503, {"database": False})
        assert (await refused.get("/healthz")).status_code == 200

    async def test_a_database_that_never_answers_is_503_within_the_query_timeout(
        self, silent: httpx.AsyncClient
    ) -> None:
        started = time.monotonic()
        assert_unavailable(await silent.get("/v1/scores"))
        assert time.monotonic() - started < 5

    @pytest.mark.parametrize("path", ENDPOINTS)
    async def test_missing_tables_are_503_not_500(
        self, unmigrated: httpx.AsyncClient, path: str
    ) -> None:
        assert_unavailable(await unmigrated.get(path))

    async def test_rollups_not_yet_migrated_to_sums_of_squares_are_503_not_500(
        self, postgres: EmbeddedPostgres
    ) -> None:
        url = await create_database(postgres)
        engine = create_async_engine(async_url(url))
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ALTER TABLE score_rollups DROP COLUMN ces_sumsq")
            await conn.exec_driver_sql("ALTER TABLE score_slices DROP COLUMN ces_sumsq")
        await engine.dispose()
        async for client in open_client(url):
            assert_unavailable(await client.get("/v1/scores"))
            assert_unavailable(await client.get("/v1/scores", params={"group_by": "segment"}))

    async def test_503_is_counted_in_the_request_metrics(self, refused: httpx.AsyncClient) -> None:
        await refused.get("/v1/scores")
        metrics = (await refused.get("/metrics")).text
        assert (
            'voc_api_http_requests_total{method="GET",route="/v1/scores",status="503"}' in metrics
        )
