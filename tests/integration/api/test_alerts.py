"""GET /v1/alerts on the real PostgreSQL: filters, newest-first keyset paging, the figures and
notifications of each alert, 422 on bad input, 401/403 without a key or with the wrong scope."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.api import keys
from services.api.keys import FEEDBACK_READ, SCORES_READ
from services.api.keys_repository import KeyRepository
from services.api.settings import AuthSettings
from shared.alert_tables import alert_notifications, alerts
from tests.integration.api.conftest import open_client

T0 = datetime(2026, 11, 1, tzinfo=UTC)
# (touchpoint, metric, team, status, hours after T0 it opened)
SEED = [
    ("checkout", "nps", "ecommerce", "open", 1),
    ("checkout", "csat", "ecommerce", "resolved", 2),
    ("delivery", "nps", "logistics", "open", 3),
    ("billing", "ces", "finance", "open", 4),
    ("delivery", "sentiment", "logistics", "resolved", 5),
    ("checkout", "nps", "ecommerce", "resolved", 0),
]


def alert_values(
    touchpoint: str, metric: str, team: str, status: str, hours: int
) -> dict[str, Any]:
    opened = T0 + timedelta(hours=hours)
    figures = {
        "window_value": 10.0 + hours, "window_n": 100 + hours, "baseline_value": 30.0,
        "baseline_n": 400, "difference": hours - 20.0, "ci_low": hours - 30.0,
        "ci_high": hours - 10.0, "statistic": -2.0 - hours / 4, "p_value": 0.001 * (hours + 1),
    }  # fmt: skip
    return {
        "id": uuid.uuid4(), "touchpoint": touchpoint, "metric": metric, "team": team,
        "status": status, "test": "two_sample_z", "level": 0.95, "min_n": 30,
        "window_start": opened - timedelta(hours=24), "window_end": opened,
        "baseline_start": opened - timedelta(days=29), "baseline_end": opened - timedelta(hours=24),
        **figures, "statistic": -3.0, "opened_figures": figures, "opened_at": opened,
        "last_evaluated_at": opened + timedelta(minutes=5),
        "resolved_at": opened + timedelta(hours=1) if status == "resolved" else None,
    }  # fmt: skip


@pytest.fixture(scope="module")
async def seeded(writer: AsyncEngine) -> dict[tuple[str, str, int], dict[str, Any]]:
    rows = {(tp, m, h): alert_values(tp, m, team, s, h) for tp, m, team, s, h in SEED}
    opened = rows[("checkout", "nps", 1)]
    async with writer.begin() as conn:
        await conn.execute(insert(alerts), list(rows.values()))
        await conn.execute(
            insert(alert_notifications),
            [
                {"id": uuid.uuid4(), "alert_id": opened["id"], "event": "opened",
                 "team": "ecommerce", "status": "delivered", "payload": {}, "attempts": 3,
                 "next_attempt_at": T0, "last_status_code": 200, "created_at": T0,
                 "finished_at": T0},
                {"id": uuid.uuid4(), "alert_id": rows[("checkout", "csat", 2)]["id"],
                 "event": "resolved", "team": "ecommerce", "status": "failed", "payload": {},
                 "attempts": 8, "next_attempt_at": T0, "last_status_code": 503,
                 "created_at": T0, "finished_at": T0},
            ],
        )  # fmt: skip
    return rows


async def get(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/alerts", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def opened_at(body: dict[str, Any]) -> list[datetime]:
    return [datetime.fromisoformat(i["opened_at"]) for i in body["items"]]


class TestFilters:
    async def test_default_lists_open_alerts_newest_first(
        self, client: httpx.AsyncClient, seeded: Any
    ) -> None:
        body = await get(client)
        assert [(i["touchpoint"], i["metric"]) for i in body["items"]] == [
            ("billing", "ces"), ("delivery", "nps"), ("checkout", "nps"),
        ]  # fmt: skip
        assert opened_at(body) == sorted(opened_at(body), reverse=True)
        assert body["next_cursor"] is None

    @pytest.mark.parametrize(
        ("params", "want"),
        [
            ({"status": "resolved"}, [("delivery", 5), ("checkout", 2), ("checkout", 0)]),
            ({"status": "all", "touchpoint": "checkout"}, [("checkout", 2), ("checkout", 1),
                                                           ("checkout", 0)]),
            ({"status": "all", "team": "logistics"}, [("delivery", 5), ("delivery", 3)]),
            ({"status": "all", "metric": "nps"}, [("delivery", 3), ("checkout", 1),
                                                  ("checkout", 0)]),
            ({"metric": "nps", "team": "ecommerce"}, [("checkout", 1)]),
            ({"touchpoint": "nowhere"}, []),
        ],
    )  # fmt: skip
    async def test_filters_combine(
        self,
        client: httpx.AsyncClient,
        seeded: Any,
        params: dict[str, str],
        want: list[tuple[str, int]],
    ) -> None:
        body = await get(client, **params)
        got = [(i["touchpoint"], datetime.fromisoformat(i["opened_at"])) for i in body["items"]]
        assert got == [(tp, T0 + timedelta(hours=h)) for tp, h in want]

    async def test_an_alert_carries_its_figures_and_notifications(
        self, client: httpx.AsyncClient, seeded: dict[tuple[str, str, int], dict[str, Any]]
    ) -> None:
        stored = seeded[("checkout", "nps", 1)]
        [item] = (await get(client, touchpoint="checkout"))["items"]
        assert item["id"] == str(stored["id"])
        assert item["team"] == "ecommerce" and item["status"] == "open"
        assert item["window"]["value"] == stored["window_value"]
        assert item["window"]["n"] == stored["window_n"]
        assert datetime.fromisoformat(item["window"]["end"]) == stored["window_end"]
        assert item["baseline"]["n"] == stored["baseline_n"]
        assert datetime.fromisoformat(item["baseline"]["start"]) == stored["baseline_start"]
        for field in ("difference", "ci_low", "ci_high", "p_value", "statistic", "level"):
            assert item[field] == stored[field], field
        assert item["resolved_at"] is None
        assert item["at_open"]["difference"] == stored["opened_figures"]["difference"]
        assert item["notification_status"] == "delivered"
        [note] = item["notifications"]
        assert (note["event"], note["attempts"], note["last_status_code"]) == ("opened", 3, 200)

    async def test_the_figures_at_open_carry_the_test_statistic(
        self, client: httpx.AsyncClient, seeded: dict[tuple[str, str, int], dict[str, Any]]
    ) -> None:
        stored = seeded[("delivery", "nps", 3)]
        [item] = (await get(client, touchpoint="delivery"))["items"]
        # At open the statistic was -2.75; the latest evaluation's (-3.0) is the item's own.
        assert item["at_open"]["statistic"] == -2.75
        assert item["statistic"] == -3.0
        assert item["at_open"] == stored["opened_figures"]

    async def test_a_resolved_alert_shows_when_and_its_failed_notification(
        self, client: httpx.AsyncClient, seeded: dict[tuple[str, str, int], dict[str, Any]]
    ) -> None:
        [item] = (await get(client, status="resolved", metric="csat"))["items"]
        assert datetime.fromisoformat(item["resolved_at"]) == T0 + timedelta(hours=3)
        assert item["notification_status"] == "failed"
        [other] = (await get(client, status="resolved", metric="sentiment"))["items"]
        assert (other["notification_status"], other["notifications"]) == (None, [])


class TestPaging:
    async def test_pages_cover_every_alert_once_in_order(
        self, client: httpx.AsyncClient, seeded: Any
    ) -> None:
        seen: list[dict[str, Any]] = []
        cursor = None
        for _ in range(10):
            params: dict[str, Any] = {"status": "all", "limit": 2}
            if cursor:
                params["cursor"] = cursor
            body = await get(client, **params)
            assert len(body["items"]) <= 2
            seen += body["items"]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(SEED) == len({i["id"] for i in seen})
        want = sorted(SEED, key=lambda s: s[4], reverse=True)
        assert [(i["touchpoint"], i["metric"]) for i in seen] == [(s[0], s[1]) for s in want]

    async def test_same_opened_at_is_ordered_by_id(
        self, client: httpx.AsyncClient, writer: AsyncEngine, seeded: Any
    ) -> None:
        # At most one open alert per (touchpoint, metric): twins are resolved episodes.
        twins = [alert_values("store", "stars", "retail", "resolved", 100) for _ in range(3)]
        async with writer.begin() as conn:
            await conn.execute(insert(alerts), twins)
        try:
            first = await get(client, status="all", touchpoint="store", limit=2)
            rest = await get(
                client, status="all", touchpoint="store", limit=2, cursor=first["next_cursor"]
            )
        finally:
            async with writer.begin() as conn:
                await conn.execute(delete(alerts).where(alerts.c.touchpoint == "store"))
        ids = [i["id"] for i in first["items"] + rest["items"]]
        assert ids == sorted((str(t["id"]) for t in twins), reverse=True)
        assert rest["next_cursor"] is None


class TestBadInput:
    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"status": "closed"}, "status"),
            ({"metric": "enps"}, "metric"),
            ({"limit": 0}, "limit"),
            ({"limit": 501}, "limit"),
            ({"cursor": "not-a-cursor"}, "cursor"),
            ({"touchpoint": "x" * 300}, "touchpoint"),
        ],
    )
    async def test_is_a_422_naming_the_parameter(
        self, client: httpx.AsyncClient, params: dict[str, Any], field: str
    ) -> None:
        response = await client.get("/v1/alerts", params=params)
        assert response.status_code == 422
        body = response.json()
        assert body["error"] == "validation_error"
        assert body["detail"][0]["loc"] == ["query", field]

    async def test_openapi_documents_the_route(self, client: httpx.AsyncClient) -> None:
        spec = (await client.get("/openapi.json")).json()
        op = spec["paths"]["/v1/alerts"]["get"]
        assert {p["name"] for p in op["parameters"]} == {
            "status", "touchpoint", "team", "metric", "limit", "cursor",
        }  # fmt: skip
        assert {"200", "401", "403", "422", "503"} <= set(op["responses"])
        assert op["security"] == [{"ApiKey": [SCORES_READ]}]


async def add_key(engine: AsyncEngine, *scopes: str) -> str:
    new = keys.generate()
    async with AsyncSession(engine) as session, session.begin():
        await KeyRepository(session).create(new, "alerts-test", list(scopes))
    return new.key


@pytest.fixture(scope="module")
async def auth_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in open_client(database_url, auth=AuthSettings(cache_ttl_s=0)):
        yield c


class TestAuth:
    async def test_no_key_is_401(self, auth_client: httpx.AsyncClient) -> None:
        response = await auth_client.get("/v1/alerts")
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_a_key_without_scores_read_is_403(
        self, auth_client: httpx.AsyncClient, writer: AsyncEngine
    ) -> None:
        key = await add_key(writer, FEEDBACK_READ)
        response = await auth_client.get("/v1/alerts", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 403
        assert response.json()["error"] == "forbidden"
        assert SCORES_READ in response.json()["detail"]

    async def test_a_key_with_scores_read_gets_the_alerts(
        self, auth_client: httpx.AsyncClient, writer: AsyncEngine, seeded: Any
    ) -> None:
        key = await add_key(writer, SCORES_READ)
        response = await auth_client.get("/v1/alerts", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200
        assert len(response.json()["items"]) == 3
