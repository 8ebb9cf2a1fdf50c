"""The BI queries benchmarks/api.py times: which URLs, over which touchpoints and months.

Each query is a URL per round, so successive rounds ask for other touchpoints and months and the
figures are not those of one cached answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.api_data import month_starts
from benchmarks.api_measure import Query

TARGET_MS = 50.0


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


async def top_touchpoints(engine: AsyncEngine, n: int = 10) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT touchpoint FROM score_rollups GROUP BY touchpoint "
                "ORDER BY sum(n) DESC LIMIT :n"
            ),
            {"n": n},
        )
        return [r.touchpoint for r in rows]


def queries(touchpoints: list[str], start: datetime, end: datetime) -> list[Query]:
    months = month_starts(start, end)

    def month(i: int) -> tuple[str, str]:
        m = months[i % len(months)]
        nxt = months[i % len(months) + 1] if i % len(months) + 1 < len(months) else end
        return iso(m), iso(nxt)

    def scores(**params: Any) -> str:
        return "/v1/scores?" + urlencode(params)

    def year(i: int) -> str:
        tp = touchpoints[i % len(touchpoints)]
        return scores(touchpoint=tp, granularity="day", **{"from": iso(start), "to": iso(end)})

    def by_channel(granularity: str) -> Any:
        def url(i: int) -> str:
            f, t = month(i)
            return scores(group_by="channel", granularity=granularity, **{"from": f, "to": t})

        return url

    def drivers(i: int) -> str:
        f, t = month(i)
        tp = touchpoints[i % len(touchpoints)]
        return "/v1/drivers?" + urlencode({"touchpoint": tp, "metric": "nps", "from": f, "to": t})

    def overall_year(i: int) -> str:
        return scores(granularity="day", **{"from": iso(start), "to": iso(end)})

    def topics_year(i: int) -> str:
        return scores(group_by="topic", granularity="day", **{"from": iso(start), "to": iso(end)})

    def unaligned_30_days(i: int) -> str:
        # Ends at an hour and minute that vary (a BI tool's "last 30 days" sent at some moment):
        # whole UTC days from day slices, the edge hours from hourly ones.
        t = end - timedelta(days=i % 60, hours=i % 24, minutes=17)
        f = t - timedelta(days=30)
        return scores(group_by="touchpoint", granularity="total", **{"from": iso(f), "to": iso(t)})

    return [
        Query(
            "year_daily_touchpoint", "a) a year of daily scores, one touchpoint", TARGET_MS, year
        ),
        Query(
            "month_by_channel_total",
            "b) one month by channel, total",
            TARGET_MS,
            by_channel("total"),
        ),
        Query("month_by_channel_day", "b) one month by channel, daily", None, by_channel("day")),
        Query("drivers_month", "c) drivers of NPS, one touchpoint, one month", None, drivers),
        Query("year_daily_overall", "d) a year of daily scores, no filter", None, overall_year),
        Query("year_daily_topics", "e) a year of daily scores by topic", None, topics_year),
        Query(
            "unaligned_30_days_by_touchpoint",
            "f) 30 days ending at any minute, by touchpoint, total",
            None,
            unaligned_30_days,
        ),
    ]
