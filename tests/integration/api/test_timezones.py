"""Day, week and month buckets in a caller's time zone, across DST changes, from hourly rollups.

Expected buckets are computed here with zoneinfo from each answer's own instant, so a bucket
boundary PostgreSQL put in the wrong hour shows up as a wrong n or score.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.api.conftest import MIN_N
from tests.integration.api.generated import Answer, expected, seed

BERLIN = ZoneInfo("Europe/Berlin")
# Europe/Berlin springs forward at 2024-03-31 01:00 UTC (a 23-hour day) and falls back at
# 2024-10-27 01:00 UTC (a 25-hour day). America/New_York changes a week later / earlier.
SPRING = datetime(2024, 3, 28, tzinfo=UTC)
AUTUMN = datetime(2024, 10, 24, tzinfo=UTC)
HOURS = 6 * 24


def hourly(start: datetime, seed: int) -> list[Answer]:
    """Two answers in every hour of six days, at random minutes."""
    rng = random.Random(seed)
    out = []
    for hour in range(HOURS):
        for _ in range(2):
            moment = start + timedelta(hours=hour, minutes=rng.randrange(60))
            out.append(
                Answer(moment, "checkout", "conversion", "survey", "web", "", "en",
                       "transactional", "customer", rng.randint(0, 10), rng.randint(1, 5),
                       rng.randint(1, 7), None, None)
            )  # fmt: skip
    return out


ANSWERS = hourly(SPRING, 1) + hourly(AUTUMN, 2)
# Half-hour zone: 18:10 and 18:50 UTC are 23:40 on Jan 1 and 00:20 on Jan 2 in Kolkata, but
# share the 18:00 UTC hourly bucket, which starts on Jan 1 there.
KOLKATA = [
    Answer(datetime(2025, 1, 1, 18, m, tzinfo=UTC), "kiosk", "conversion", "survey", "", "",
           "en", "", "customer", 10, None, None, None, None)
    for m in (10, 50)
]  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
async def seeded(writer: AsyncEngine) -> None:
    async with writer.begin() as conn:
        await seed(conn, ANSWERS + KOLKATA)


async def scores(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/scores", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def by_local(answers: list[Answer], zone: ZoneInfo, start_of: Any) -> dict[datetime, list[Answer]]:
    groups: dict[datetime, list[Answer]] = defaultdict(list)
    for a in answers:
        groups[local_midnight(start_of(a.occurred_at.astimezone(zone).date()), zone)].append(a)
    return dict(sorted(groups.items()))


def assert_buckets(items: list[dict[str, Any]], want: dict[datetime, list[Answer]]) -> None:
    assert [datetime.fromisoformat(i["bucket_start"]) for i in items] == list(want)
    for item, answers in zip(items, want.values(), strict=True):
        scores = expected(answers, MIN_N)
        assert item["n"] == len(answers)
        assert item["nps"]["value"] == pytest.approx(scores["nps"]["value"])
        assert item["ces"]["ci_low"] == pytest.approx(scores["ces"]["ci_low"])


def window(start: datetime) -> dict[str, str]:
    return {"from": start.isoformat(), "to": (start + timedelta(hours=HOURS)).isoformat()}


class TestTimeZoneBuckets:
    @pytest.mark.parametrize("start", [SPRING, AUTUMN], ids=["spring-forward", "fall-back"])
    async def test_days_follow_local_midnights_across_a_dst_change(
        self, client: httpx.AsyncClient, start: datetime
    ) -> None:
        items = await scores(client, granularity="day", tz="Europe/Berlin", **window(start))
        inside = [a for a in ANSWERS if start <= a.occurred_at < start + timedelta(hours=HOURS)]
        want = by_local(inside, BERLIN, lambda d: d)
        assert_buckets(items, want)
        lengths = {item["bucket_start"]: item["n"] // 2 for item in items[1:-1]}
        # The DST day holds 23 (or 25) hourly buckets, its neighbours 24.
        assert sorted(set(lengths.values())) == ([23, 24] if start == SPRING else [24, 25])

    async def test_bucket_starts_carry_the_local_offset_of_their_day(
        self, client: httpx.AsyncClient
    ) -> None:
        items = await scores(client, granularity="day", tz="Europe/Berlin", **window(SPRING))
        starts = [i["bucket_start"] for i in items]
        assert "2024-03-31T00:00:00+01:00" in starts and "2024-04-01T00:00:00+02:00" in starts

    async def test_months_split_at_local_midnight_of_the_first(
        self, client: httpx.AsyncClient
    ) -> None:
        items = await scores(client, granularity="month", tz="Europe/Berlin", **window(SPRING))
        inside = [a for a in ANSWERS if SPRING <= a.occurred_at < SPRING + timedelta(hours=HOURS)]
        assert_buckets(items, by_local(inside, BERLIN, lambda d: d.replace(day=1)))
        # 2024-03-31 22:00 UTC is already April in Berlin.
        assert [i["bucket_start"] for i in items] == [
            "2024-03-01T00:00:00+01:00",
            "2024-04-01T00:00:00+02:00",
        ]

    async def test_weeks_start_on_local_mondays(self, client: httpx.AsyncClient) -> None:
        zone = ZoneInfo("America/New_York")
        items = await scores(client, granularity="week", tz="America/New_York", **window(AUTUMN))
        inside = [a for a in ANSWERS if AUTUMN <= a.occurred_at < AUTUMN + timedelta(hours=HOURS)]
        want = by_local(inside, zone, lambda d: d - timedelta(days=d.weekday()))
        assert_buckets(items, want)
        assert all(b.weekday() == 0 and b.hour == 0 for b in want)

    async def test_naive_from_and_to_are_read_in_the_zone(self, client: httpx.AsyncClient) -> None:
        params = {"from": "2024-03-31T00:00:00", "to": "2024-04-01T00:00:00"}
        [total] = await scores(client, granularity="total", tz="Europe/Berlin", **params)
        lo, hi = datetime(2024, 3, 31, tzinfo=BERLIN), datetime(2024, 4, 1, tzinfo=BERLIN)
        assert total["n"] == sum(lo <= a.occurred_at < hi for a in ANSWERS) == 2 * 23

    async def test_hours_stay_hourly_buckets_written_in_the_zone(
        self, client: httpx.AsyncClient
    ) -> None:
        params = {"from": "2024-03-31T00:00:00Z", "to": "2024-03-31T03:00:00Z"}
        items = await scores(client, granularity="hour", tz="Europe/Berlin", **params)
        assert [i["bucket_start"] for i in items] == [
            "2024-03-31T01:00:00+01:00",
            "2024-03-31T03:00:00+02:00",
            "2024-03-31T04:00:00+02:00",
        ]

    async def test_a_half_hour_zone_counts_each_hourly_bucket_in_the_day_it_starts(
        self, client: httpx.AsyncClient
    ) -> None:
        params = {"from": "2025-01-01T00:00:00Z", "to": "2025-01-03T00:00:00Z"}
        items = await scores(client, granularity="day", tz="Asia/Kolkata", **params)
        assert [(i["bucket_start"], i["n"]) for i in items] == [("2025-01-01T00:00:00+05:30", 2)]
