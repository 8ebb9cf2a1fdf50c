"""GET /v1/scores and /v1/touchpoints against rollups seeded from generated survey answers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.app import load_catalog
from tests.integration.api.conftest import MIN_N
from tests.integration.api.generated import DAYS, START, Answer, expected, generate, seed

ANSWERS = generate()
# Two answers near now, for the default window (last 30 days): only the first is inside it.
RECENT = [
    Answer(datetime.now(UTC) - timedelta(hours=2), "checkout", "conversion", "survey", "web",
           "", "en", "transactional", "customer", 10, None, None, None, None),
    Answer(datetime.now(UTC) - timedelta(days=40), "checkout", "conversion", "survey", "web",
           "", "en", "transactional", "customer", 0, None, None, None, None),
]  # fmt: skip
WINDOW = {"from": START.isoformat(), "to": (START + timedelta(days=DAYS)).isoformat()}
CUSTOMER_BLOCKS = ("nps", "csat", "ces", "stars", "sentiment")


@pytest.fixture(scope="module", autouse=True)
async def seeded(writer: AsyncEngine) -> None:
    async with writer.begin() as conn:
        await seed(conn, ANSWERS + RECENT)


async def scores(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/scores", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["min_n"] == MIN_N
    items: list[dict[str, Any]] = body["items"]
    return items


def assert_scores(item: dict[str, Any], answers: list[Answer]) -> None:
    want = expected(answers, MIN_N)
    assert item["n"] == want["all"]["n"]
    assert item["low_confidence"] is (want["all"]["n"] < MIN_N)
    for block in ("nps", "enps", "csat", "ces", "stars", "sentiment"):
        for key, value in want[block].items():
            assert item[block][key] == pytest.approx(value), (block, key)


def where(predicate: Callable[[Answer], bool]) -> list[Answer]:
    return [a for a in ANSWERS if predicate(a)]


class TestScores:
    async def test_total_over_the_window_matches_the_raw_answers(
        self, client: httpx.AsyncClient
    ) -> None:
        items = await scores(client, granularity="total", **WINDOW)
        assert len(items) == 1
        assert items[0]["bucket_start"] is None and items[0]["group"] == {}
        assert_scores(items[0], ANSWERS)

    async def test_by_touchpoint_matches_the_raw_answers(self, client: httpx.AsyncClient) -> None:
        items = await scores(client, granularity="total", group_by="touchpoint", **WINDOW)
        names = [i["group"]["touchpoint"] for i in items]
        assert names == sorted({a.touchpoint for a in ANSWERS})
        for item in items:
            touchpoint = item["group"]["touchpoint"]
            assert_scores(item, [a for a in ANSWERS if a.touchpoint == touchpoint])

    async def test_by_day_matches_the_raw_answers(self, client: httpx.AsyncClient) -> None:
        items = await scores(client, granularity="day", **WINDOW)
        days = [START + timedelta(days=d) for d in range(DAYS)]
        assert [datetime.fromisoformat(i["bucket_start"]) for i in items] == days
        for item, day in zip(items, days, strict=True):
            assert_scores(item, [a for a in ANSWERS if day <= a.occurred_at < day + timedelta(1)])

    async def test_weeks_start_on_monday_and_sum_to_the_total(
        self, client: httpx.AsyncClient
    ) -> None:
        items = await scores(client, granularity="week", **WINDOW)
        starts = [datetime.fromisoformat(i["bucket_start"]) for i in items]
        assert starts == [START, START + timedelta(weeks=1)]
        assert sum(i["n"] for i in items) == len(ANSWERS)

    async def test_hour_window_with_filters_and_two_dimensions(
        self, client: httpx.AsyncClient
    ) -> None:
        lo, hi = START + timedelta(days=1, hours=6), START + timedelta(days=3, hours=18)
        # The same instants written with a +02:00 offset.
        tz = lo.astimezone(datetime.fromisoformat("2024-01-01T00:00+02:00").tzinfo)
        params = {"from": tz.isoformat(), "to": hi.isoformat(), "granularity": "total",
                  "group_by": "touchpoint,segment", "audience": "customer"}  # fmt: skip
        items = await scores(client, **params)
        inside = where(lambda a: lo <= a.occurred_at < hi and a.audience == "customer")
        keys = [(i["group"]["touchpoint"], i["group"]["segment"] or "") for i in items]
        assert keys == sorted({(a.touchpoint, a.segment) for a in inside})
        for item, (tp, seg) in zip(items, keys, strict=True):
            assert_scores(item, [a for a in inside if (a.touchpoint, a.segment) == (tp, seg)])

    async def test_enps_counts_only_employee_answers(self, client: httpx.AsyncClient) -> None:
        [employees] = await scores(client, granularity="total", audience="employee", **WINDOW)
        staff = where(lambda a: a.audience == "employee")
        assert employees["n"] == len(staff)
        for block in CUSTOMER_BLOCKS:
            assert (employees[block]["n"], employees[block]["value"]) == (0, None), block
        assert employees["enps"]["n"] == sum(a.nps is not None for a in staff) > 0
        assert_scores(employees, staff)

    async def test_employee_answers_move_no_customer_metric(
        self, client: httpx.AsyncClient
    ) -> None:
        staff = where(lambda a: a.audience == "employee")
        # The generated employees answer every kind of question, so each block could move.
        for pick in (lambda a: a.csat, lambda a: a.ces, lambda a: a.stars, lambda a: a.sentiment):
            assert any(pick(a) is not None for a in staff)
        [everyone] = await scores(client, granularity="total", **WINDOW)
        [customers] = await scores(client, granularity="total", audience="customer", **WINDOW)
        assert everyone["n"] == len(ANSWERS) == customers["n"] + len(staff)
        for block in CUSTOMER_BLOCKS:
            assert everyone[block] == customers[block], block

    async def test_groups_below_min_n_are_flagged_low_confidence_not_hidden(
        self, client: httpx.AsyncClient
    ) -> None:
        items = await scores(client, granularity="total", group_by="touchpoint", **WINDOW)
        flags = {i["group"]["touchpoint"]: i["low_confidence"] for i in items}
        assert flags == {"checkout": False, "delivery": False, "website": False, "kiosk": True}

    async def test_unknown_dimension_values_are_null(self, client: httpx.AsyncClient) -> None:
        items = await scores(client, granularity="total", group_by="channel", **WINDOW)
        assert [i["group"]["channel"] for i in items] == [None, "email", "web"]
        assert items[0]["n"] == len(where(lambda a: a.channel == ""))

    async def test_default_window_is_the_last_30_days(self, client: httpx.AsyncClient) -> None:
        items = await scores(client, granularity="total")
        assert [(i["n"], i["nps"]["value"]) for i in items] == [(1, 100.0)]

    async def test_a_window_without_data_is_empty(self, client: httpx.AsyncClient) -> None:
        assert await scores(client, **{"from": "2001-01-01", "to": "2001-02-01"}) == []


class TestTouchpoints:
    async def test_catalog_in_order_with_all_time_totals_then_uncatalogued(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/v1/touchpoints")
        assert response.status_code == 200
        items = response.json()["items"]
        catalog = load_catalog()
        assert [i["touchpoint"] for i in items] == [c.name for c in catalog] + ["kiosk"]
        assert [(i["journey_stage"], i["team"]) for i in items[:-1]] == [
            (c.stage, c.team) for c in catalog
        ]
        everything = ANSWERS + RECENT
        for item in items:
            assert_scores(item, [a for a in everything if a.touchpoint == item["touchpoint"]])
        assert items[-1]["journey_stage"] == "conversion" and items[-1]["team"] is None
