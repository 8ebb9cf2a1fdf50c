"""Unaligned windows (from=now-7d, the default "last 30 days ending now") read whole UTC days
from a day twin and the edge hours from its hourly slice: pages, CSV, compare and drivers agree
with the hourly answers and with the raw answers."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.api.compare import compare_page
from services.api.drivers import drivers_page
from services.api.models import CompareQuery, DriversQuery, Metric, ScoreQuery, Window
from services.api.planner import ROLLUPS, choose, split
from services.api.repository import Repository
from tests.integration.api.conftest import MIN_N
from tests.integration.api.generated import DAYS, START, bucket_of, day_of, generate, rounded, seed
from tests.integration.api.test_slices import get, off_midnight, read_path

ANSWERS = generate()
END = START + timedelta(days=DAYS)


@pytest.fixture(scope="module", autouse=True)
async def seeded(writer: AsyncEngine) -> None:
    async with writer.begin() as conn:
        await seed(conn, ANSWERS)


class TestHybridReads:
    async def test_pages_and_csv_of_a_hybrid_read_walk_the_same_rows(
        self, client: httpx.AsyncClient
    ) -> None:
        start, end = START + timedelta(hours=7, minutes=13), END - timedelta(hours=5)
        params = {"granularity": "day", "group_by": "touchpoint",
                  "from": start.isoformat(), "to": end.isoformat()}  # fmt: skip
        query = ScoreQuery(start, end, "day", ("touchpoint",), source=choose(("touchpoint",)))
        assert read_path(split(query.source, start, end, "day")) == "hybrid"
        whole = (await get(client, "/v1/scores", **params))["items"]
        paged: list[dict[str, Any]] = []
        cursor = None
        while True:
            extra: dict[str, str] = {"cursor": cursor} if cursor else {}
            page = await get(client, "/v1/scores", limit="7", **params, **extra)
            paged += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(whole) > 14 and rounded(paged) == rounded(whole)
        # Each day's n counts the answers of its part of the window, edges included.
        got = {(i["bucket_start"], i["group"]["touchpoint"]): i["n"] for i in whole}
        want = Counter(
            (day_of(a.occurred_at).isoformat().replace("+00:00", "Z"), a.touchpoint)
            for a in ANSWERS
            if bucket_of(a.occurred_at) >= start and bucket_of(a.occurred_at) < end
        )
        assert got == dict(want)
        response = await client.get("/v1/scores", params={**params, "format": "csv"})
        rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
        assert [(r["touchpoint"], int(r["n"])) for r in rows] == [
            (i["group"]["touchpoint"], i["n"]) for i in whole
        ]

    async def test_unaligned_compare_and_drivers_windows_equal_the_rollups(
        self, client: httpx.AsyncClient, writer: AsyncEngine
    ) -> None:
        """The default "last 30 days ending now" windows: both compare windows and the drivers
        window read whole days from the day twins and the edge hours from the hourly slices."""
        rng = random.Random(8)
        async with AsyncSession(writer) as session:
            repo = Repository(session, 10.0)
            for _ in range(12):
                mid = START + timedelta(days=rng.randrange(3, 6)) + off_midnight(rng)
                first = START - timedelta(hours=rng.randrange(1, 24))  # never a midnight
                last = END + timedelta(hours=rng.randrange(0, 30))
                filters = rng.choice([{}, {"touchpoint": "checkout"}, {"channel": "web"}])
                group_by = rng.choice([(), ("touchpoint",), ("channel",)])
                source = choose((*group_by, *filters))
                windows = (Window(mid, last), Window(first, mid))
                if source.name in ("touchpoint", "channel"):  # the others have no day twin
                    assert read_path(split(source, first, mid)) == "hybrid"
                metric: Metric = rng.choice(("nps", "enps", "csat", "ces", "sentiment"))
                query = CompareQuery(metric, *windows, 0.95, group_by, filters)
                want = compare_page(await repo.compare(query), query, MIN_N)
                got = await get(
                    client, "/v1/scores/compare", metric=metric, group_by=",".join(group_by),
                    current_from=mid.isoformat(), current_to=last.isoformat(),
                    previous_from=first.isoformat(), previous_to=mid.isoformat(), **filters,
                )  # fmt: skip
                assert rounded(got["items"]) == rounded(want.model_dump(mode="json")["items"])

                place = {"touchpoint": rng.choice(("delivery", "checkout"))}
                topical = choose(("topic", *place))
                assert read_path(split(topical, first, mid)) == "hybrid"
                drivers = DriversQuery(
                    "nps", Window(first, mid), 0.95, place,
                    replace(topical, name=f"{topical.name} hourly"), ROLLUPS,
                )  # fmt: skip
                per_topic, overall = await repo.drivers(drivers)
                expected = drivers_page(per_topic, overall, drivers, MIN_N)
                body = await get(client, "/v1/drivers", metric="nps", **place,
                                 **{"from": first.isoformat(), "to": mid.isoformat()})  # fmt: skip
                assert rounded(body) == rounded(expected.model_dump(mode="json", by_alias=True))

    async def test_a_hybrid_read_turns_parallel_workers_off_for_its_transaction_only(
        self, writer: AsyncEngine
    ) -> None:
        show = text("SHOW max_parallel_workers_per_gather")
        start, end = START + timedelta(hours=3), END
        hybrid = ScoreQuery(start, end, "total", source=choose(("touchpoint",)))
        hourly = replace(hybrid, source=choose(("touchpoint", "channel")))  # no day twin
        async with AsyncSession(writer) as session:
            default = (await session.execute(show)).scalar_one()
            assert default != "0"
            await Repository(session, 10.0).scores(hourly)
            assert (await session.execute(show)).scalar_one() == default
            rows = await Repository(session, 10.0).scores(hybrid)
            assert rows[0]["n"] == sum(bucket_of(a.occurred_at) >= start for a in ANSWERS)
            assert (await session.execute(show)).scalar_one() == "0"
        async with AsyncSession(writer) as session:
            assert (await session.execute(show)).scalar_one() == default
