"""Scores read through the planner's slices: the same figures as from score_rollups, and topic
groups (a fact counted once per topic label) against the raw answers."""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.api.compare import compare_page
from services.api.models import CompareQuery, Granularity, ScoreQuery, Window
from services.api.planner import ROLLUPS, Part, choose, split
from services.api.repository import Repository
from services.api.service import scores_page, scores_response
from services.api.statements import scores_statement
from shared.tables import SLICES
from tests.integration.api.conftest import MIN_N
from tests.integration.api.generated import (
    DAYS,
    START,
    TOPICS,
    Answer,
    generate,
    rounded,
    seed,
)
from tests.integration.api.test_scores import assert_scores

ANSWERS = generate()
END = START + timedelta(days=DAYS)
WINDOW = {"from": START.isoformat(), "to": END.isoformat()}
GROUPINGS = [
    (), ("touchpoint",), ("journey_stage",), ("channel",), ("audience",), ("segment",),
    ("touchpoint", "channel"), ("survey_type", "touchpoint"), ("source_kind",),
    ("language", "channel"),
]  # fmt: skip
# Groupings the day slices answer (every one but segment: stage_day answers () and audience,
# topic_day topic), touchpoint and channel twice as often.
DAY_GROUPINGS = [
    (), ("touchpoint",), ("channel",), ("journey_stage",), ("audience",), ("topic",),
    ("segment",), ("touchpoint",), ("channel",), ("touchpoint", "journey_stage"),
]  # fmt: skip
GRANULARITY_DRAWS: tuple[Granularity, ...] = ("hour", "day", "day", "week", "month", "total")
DAY_FILTERS: list[dict[str, str]] = [
    {}, {"touchpoint": "checkout"}, {"channel": "web"}, {"audience": "employee"},
    {"touchpoint": "delivery"},
]  # fmt: skip
FILTERS: list[dict[str, str]] = [
    {}, {"audience": "customer"}, {"touchpoint": "checkout"}, {"channel": "web"},
    {"journey_stage": "retention", "survey_type": "relationship"}, {"segment": "vip"},
]  # fmt: skip


def off_midnight(rng: random.Random) -> timedelta:
    """None 40% of the time; else some hours, and now and then minutes and seconds too."""
    if rng.random() < 0.4:
        return timedelta(0)
    extra = timedelta(seconds=rng.randrange(3600)) if rng.random() < 0.3 else timedelta(0)
    return timedelta(hours=rng.randrange(0, 24)) + extra


def read_path(parts: tuple[Part, ...]) -> str:
    """hybrid: whole days from a day twin plus edge hours; else the grain of the one source."""
    return "hybrid" if len(parts) > 1 else parts[0].source.grain


def sql(stmt: Any) -> str:
    return str(stmt.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module", autouse=True)
async def seeded(writer: AsyncEngine) -> None:
    async with writer.begin() as conn:
        await seed(conn, ANSWERS)


async def get(client: httpx.AsyncClient, path: str, **params: str) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


class TestPlannerAgreesWithTheRollups:
    async def test_scores_from_the_chosen_slice_equal_those_from_every_dimension(
        self, client: httpx.AsyncClient, writer: AsyncEngine
    ) -> None:
        sliced = 0
        async with AsyncSession(writer) as session:
            repo = Repository(session, 10.0)
            for group_by in GROUPINGS:
                for filters in FILTERS:
                    for granularity in ("total", "day"):
                        query = ScoreQuery(START, END, granularity, group_by, filters)
                        assert query.source == ROLLUPS
                        want = scores_page(await repo.scores(query), query, MIN_N)
                        params = {"granularity": granularity, "group_by": ",".join(group_by)}
                        got = await get(client, "/v1/scores", **params, **filters, **WINDOW)
                        assert rounded(got) == rounded(want.model_dump(mode="json")), params
                    sliced += choose((*group_by, *filters)) != ROLLUPS
        assert sliced >= 15  # the comparison is not rollups against rollups

    async def test_random_queries_from_hourly_or_day_slices_equal_the_rollups(
        self, client: httpx.AsyncClient, writer: AsyncEngine
    ) -> None:
        """Windows at UTC midnights or at any hour, minute or second, every granularity, zones
        that are UTC all year and zones that are not: the API's answer (day twin, or its whole
        days plus hourly edges, where the planner may use them) equals the hourly
        all-dimensions score_rollups answer; and the fast JSON path renders the same values."""
        rng = random.Random(5)
        paths: Counter[str] = Counter()
        twins: Counter[str] = Counter()
        async with AsyncSession(writer) as session:
            repo = Repository(session, 10.0)
            for _ in range(160):
                group_by, filters = rng.choice(DAY_GROUPINGS), rng.choice(DAY_FILTERS)
                granularity: Granularity = rng.choice(GRANULARITY_DRAWS)
                tz = rng.choice(("UTC", "UTC", "Etc/UTC", "GMT", "Europe/Stockholm"))
                start = START + timedelta(days=rng.randrange(-1, 4))
                end = START + timedelta(days=rng.randrange(3, DAYS + 2))
                # Edges off midnight (BI tools send from=now-7d): whole days plus edge hours.
                start += off_midnight(rng)
                end += off_midnight(rng)
                if end <= start:
                    start, end = end, start + timedelta(hours=rng.randrange(1, 30))
                chosen = choose((*group_by, *filters))
                # Reference: score_rollups; for topic, the hourly topic slice, pinned (renamed,
                # the planner finds no twin for it).
                pinned = ROLLUPS
                if chosen.has_topic:
                    pinned = replace(chosen, name=f"{chosen.name} hourly")
                query = ScoreQuery(start, end, granularity, group_by, filters, tz, source=pinned)
                sliced = replace(query, source=chosen)
                parts = split(chosen, start, end, granularity, tz)
                path = read_path(parts)
                paths[path] += 1
                twins.update(p.source.name for p in parts if p.source.grain == "day")
                assert ("UNION ALL" in sql(scores_statement(sliced, 10))) == (path == "hybrid")
                want = scores_page(await repo.scores(query), query, MIN_N)
                params = {"granularity": granularity, "group_by": ",".join(group_by), "tz": tz,
                          "from": start.isoformat(), "to": end.isoformat()}  # fmt: skip
                response = await client.get("/v1/scores", params={**params, **filters})
                assert response.status_code == 200, response.text
                assert rounded(response.json()) == rounded(want.model_dump(mode="json")), params
                # Two reads: sums of floats may differ in the last bits between plans, so the
                # bytes are compared in tests/unit/api (one set of rows), the values here.
                fast = scores_response(await repo.scores(sliced), sliced, MIN_N)
                assert rounded(json.loads(fast.body)) == rounded(response.json()), params
        # Every kind of read was exercised, the hybrid one often.
        assert paths["hybrid"] >= 40 and paths["day"] >= 5 and paths["hour"] >= 30, paths
        # ... from every day twin.
        assert set(twins) == {s.name for s in SLICES if s.grain == "day"}, twins

    async def test_compare_from_the_chosen_slice_equals_the_rollups(
        self, client: httpx.AsyncClient, writer: AsyncEngine
    ) -> None:
        mid = START + timedelta(days=4)
        windows = {"current_from": mid.isoformat(), "current_to": END.isoformat(),
                   "previous_from": START.isoformat(), "previous_to": mid.isoformat()}  # fmt: skip
        async with AsyncSession(writer) as session:
            repo = Repository(session, 10.0)
            for metric in ("nps", "enps", "csat", "ces", "sentiment"):
                for group_by, filters in [((), {}), (("touchpoint",), {"channel": "web"})]:
                    query = CompareQuery(
                        metric, Window(mid, END), Window(START, mid), 0.95, group_by, filters
                    )
                    want = compare_page(await repo.compare(query), query, MIN_N)
                    got = await get(
                        client, "/v1/scores/compare", metric=metric,
                        group_by=",".join(group_by), **filters, **windows,
                    )  # fmt: skip
                    assert rounded(got["items"]) == rounded(want.model_dump(mode="json")["items"])

    async def test_touchpoints_from_the_touchpoint_slice_match_the_raw_answers(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await get(client, "/v1/touchpoints")
        seen = {i["touchpoint"]: i for i in body["items"] if i["n"]}
        assert set(seen) == {a.touchpoint for a in ANSWERS}
        for name, item in seen.items():
            assert_scores(item, [a for a in ANSWERS if a.touchpoint == name])


def with_topic(label: str, answers: list[Answer]) -> list[Answer]:
    """A fact counts under each of its labels; one without topics under topic ''."""
    return [a for a in answers if (label in a.topics if label else not a.topics)]


class TestTopicGroups:
    async def test_each_topic_group_scores_its_answers_and_null_means_no_topic(
        self, client: httpx.AsyncClient
    ) -> None:
        items = await get(client, "/v1/scores", granularity="total", group_by="topic", **WINDOW)
        labels = [i["group"]["topic"] for i in items["items"]]
        assert labels == [None, *sorted(TOPICS)]
        for item in items["items"]:
            assert_scores(item, with_topic(item["group"]["topic"] or "", ANSWERS))
        multi = sum(len(a.topics) > 1 for a in ANSWERS)
        assert sum(i["n"] for i in items["items"]) > len(ANSWERS) and multi > 0

    async def test_topic_volume_per_week_for_one_touchpoint(
        self, client: httpx.AsyncClient
    ) -> None:
        params = {"group_by": "topic", "touchpoint": "delivery", "granularity": "week"}
        body = await get(client, "/v1/scores", **params, **WINDOW)
        got = {(i["bucket_start"], i["group"]["topic"] or ""): i["n"] for i in body["items"]}
        want: dict[tuple[str, str], int] = {}
        for a in ANSWERS:
            if a.touchpoint != "delivery":
                continue
            monday = datetime.combine(a.occurred_at.date(), datetime.min.time(), START.tzinfo)
            week = (monday - timedelta(days=a.occurred_at.weekday())).isoformat()
            for label in a.topics or ("",):
                key = (week.replace("+00:00", "Z"), label)
                want[key] = want.get(key, 0) + 1
        assert got == want

    async def test_topic_filter_with_a_group_the_topic_slice_holds(
        self, client: httpx.AsyncClient
    ) -> None:
        params = {"granularity": "total", "group_by": "touchpoint", "topic": "delivery"}
        body = await get(client, "/v1/scores", **params, **WINDOW)
        answers = with_topic("delivery", ANSWERS)
        assert [i["group"]["touchpoint"] for i in body["items"]] == sorted(
            {a.touchpoint for a in answers}
        )
        for item in body["items"]:
            place = item["group"]["touchpoint"]
            assert_scores(item, [a for a in answers if a.touchpoint == place])

    async def test_compare_by_topic_counts_each_window_per_label(
        self, client: httpx.AsyncClient
    ) -> None:
        mid = START + timedelta(days=4)
        body = await get(
            client, "/v1/scores/compare", metric="nps", group_by="topic", channel="web",
            current_from=mid.isoformat(), current_to=END.isoformat(),
            previous_from=START.isoformat(), previous_to=mid.isoformat(),
        )  # fmt: skip
        for item in body["items"]:
            label = item["group"]["topic"] or ""
            web = [a for a in with_topic(label, ANSWERS) if a.channel == "web"]
            scored = [a for a in web if a.nps is not None and a.audience != "employee"]
            assert item["current"]["n"] == sum(a.occurred_at >= mid for a in scored)
            assert item["previous"]["n"] == sum(a.occurred_at < mid for a in scored)

    async def test_csv_export_has_a_topic_column(self, client: httpx.AsyncClient) -> None:
        params = {"granularity": "total", "group_by": "topic", "format": "csv", **WINDOW}
        response = await client.get("/v1/scores", params=params)
        rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
        assert [r["topic"] for r in rows] == ["", *sorted(TOPICS)]
        assert [int(r["n"]) for r in rows] == [len(with_topic(r["topic"], ANSWERS)) for r in rows]

    @pytest.mark.parametrize(
        ("params", "name"),
        [
            ({"group_by": "topic,segment"}, "group_by"),
            ({"group_by": "topic", "touchpoint": "checkout", "channel": "web"}, "group_by"),
            ({"topic": "billing", "group_by": "language"}, "topic"),
            ({"topic": "billing", "source_kind": "survey"}, "topic"),
        ],
    )
    async def test_a_combination_no_slice_holds_is_422_listing_the_supported_ones(
        self, client: httpx.AsyncClient, params: dict[str, str], name: str
    ) -> None:
        response = await client.get("/v1/scores", params=params)
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["query", name]
        assert "topic cannot be combined with" in error["msg"]
        assert "{touchpoint, journey_stage}, {channel}" in error["msg"]

    async def test_pages_of_topic_groups_walk_the_same_rows(
        self, client: httpx.AsyncClient
    ) -> None:
        params = {"granularity": "day", "group_by": "topic,touchpoint", **WINDOW}
        whole = (await get(client, "/v1/scores", **params))["items"]
        paged: list[dict[str, Any]] = []
        cursor = None
        while True:
            extra: dict[str, str] = {"cursor": cursor} if cursor else {}
            page = await get(client, "/v1/scores", limit="13", **params, **extra)
            paged += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(whole) > 26 and rounded(paged) == rounded(whole)

    async def test_an_unknown_topic_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/scores", params={"topic": "weather"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "topic"]
