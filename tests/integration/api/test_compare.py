"""GET /v1/scores/compare on seeded rollups, against scipy on the raw answers of each window."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from scipy import stats
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.api.conftest import MIN_N
from tests.integration.api.generated import Answer, seed

PREVIOUS = datetime(2024, 9, 2, tzinfo=UTC)  # Mondays
CURRENT = datetime(2024, 9, 9, tzinfo=UTC)
WEEK = timedelta(days=7)


def answers(
    start: datetime, touchpoint: str, count: int, nps: list[int], seed: int
) -> list[Answer]:
    rng = random.Random(seed)
    return [
        Answer(start + timedelta(seconds=rng.randrange(7 * 86400)), touchpoint, "conversion",
               "survey", rng.choice(["web", "email"]), "", "en", "transactional",
               "employee" if rng.random() < 0.2 else "customer", rng.choice(nps),
               rng.randint(1, 5) if rng.random() < 0.8 else None,
               rng.choice([1, 3, 5, 6, 7]) if rng.random() < 0.6 else None,
               rng.randint(1, 5) if rng.random() < 0.5 else None,
               round(rng.uniform(-1, 1), 3) if rng.random() < 0.9 else None)
        for _ in range(count)
    ]  # fmt: skip


ANSWERS = (
    answers(PREVIOUS, "checkout", 220, list(range(11)), 1)
    + answers(CURRENT, "checkout", 260, [0, 4, 8, 9, 10, 10, 10], 2)
    + answers(PREVIOUS, "delivery", 90, list(range(11)), 3)
    + answers(CURRENT, "delivery", 80, list(range(11)), 4)
    # New this week: nothing to compare with.
    + answers(CURRENT, "kiosk", 5, [10], 5)
)
WINDOWS = {
    "current_from": CURRENT.isoformat(), "current_to": (CURRENT + WEEK).isoformat(),
    "previous_from": PREVIOUS.isoformat(), "previous_to": (PREVIOUS + WEEK).isoformat(),
}  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
async def seeded(writer: AsyncEngine) -> None:
    async with writer.begin() as conn:
        await seed(conn, ANSWERS)


async def compare(client: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    response = await client.get("/v1/scores/compare", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def window_values(
    start: datetime, pick: Callable[[Answer], float | None], where: Callable[[Answer], bool]
) -> list[float]:
    return [
        v
        for a in ANSWERS
        if start <= a.occurred_at < start + WEEK and where(a) and (v := pick(a)) is not None
    ]


def coded_nps(a: Answer) -> float | None:
    if a.nps is None:
        return None
    return 100.0 if a.nps >= 9 else -100.0 if a.nps <= 6 else 0.0


def checkout_customers(a: Answer) -> bool:
    """Customer answers at checkout: every metric but eNPS leaves employee surveys out."""
    return a.touchpoint == "checkout" and a.audience != "employee"


def item_of(body: dict[str, Any], touchpoint: str) -> dict[str, Any]:
    [item] = [i for i in body["items"] if i["group"] == {"touchpoint": touchpoint}]
    return item


class TestCompare:
    async def test_nps_difference_matches_a_z_on_coded_answers(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await compare(client, metric="nps", group_by="touchpoint", **WINDOWS)
        assert (body["metric"], body["test"], body["level"]) == ("nps", "two_sample_z", 0.95)
        a = window_values(CURRENT, coded_nps, checkout_customers)
        b = window_values(PREVIOUS, coded_nps, checkout_customers)
        diff = statistics.fmean(a) - statistics.fmean(b)
        se = math.sqrt(statistics.pvariance(a) / len(a) + statistics.pvariance(b) / len(b))
        se0 = math.sqrt(statistics.pvariance(a + b) * (1 / len(a) + 1 / len(b)))
        item = item_of(body, "checkout")
        assert (item["current"]["n"], item["previous"]["n"]) == (len(a), len(b))
        assert item["difference"] == pytest.approx(diff)
        z = stats.norm.ppf(0.975)
        assert (item["ci_low"], item["ci_high"]) == pytest.approx((diff - z * se, diff + z * se))
        assert item["p_value"] == pytest.approx(2 * stats.norm.sf(abs(diff / se0)))
        assert item["significant"] is (item["p_value"] < 0.05)

    async def test_csat_difference_matches_scipy_chi_square(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await compare(client, metric="csat", group_by="touchpoint", **WINDOWS)
        a = window_values(CURRENT, lambda x: x.csat, checkout_customers)
        b = window_values(PREVIOUS, lambda x: x.csat, checkout_customers)
        x1, x2 = sum(v >= 4 for v in a), sum(v >= 4 for v in b)
        want = stats.chi2_contingency([[x1, len(a) - x1], [x2, len(b) - x2]], correction=False)
        item = item_of(body, "checkout")
        assert body["test"] == "two_proportion_z"
        assert item["difference"] == pytest.approx(100 * (x1 / len(a) - x2 / len(b)))
        assert item["p_value"] == pytest.approx(want.pvalue)

    @pytest.mark.parametrize(
        ("metric", "pick", "scale"),
        [
            ("ces", lambda a: a.ces, 1.0),
            ("stars", lambda a: a.stars, 1.0),
            ("sentiment", lambda a: a.sentiment, 100.0),
        ],
    )
    async def test_mean_differences_match_scipy_welch(
        self, client: httpx.AsyncClient, metric: str, pick: Any, scale: float
    ) -> None:
        body = await compare(client, metric=metric, group_by="touchpoint", level="0.9", **WINDOWS)
        a, b = (
            window_values(CURRENT, pick, checkout_customers),
            window_values(PREVIOUS, pick, checkout_customers),
        )
        want = stats.ttest_ind(a, b, equal_var=False)
        ci = want.confidence_interval(0.9)
        item = item_of(body, "checkout")
        assert body["test"] == "welch_t"
        assert item["difference"] == pytest.approx(
            scale * (statistics.fmean(a) - statistics.fmean(b))
        )
        assert (item["ci_low"], item["ci_high"]) == pytest.approx((scale * ci.low, scale * ci.high))
        assert (item["statistic"], item["df"]) == pytest.approx((want.statistic, want.df))
        assert item["p_value"] == pytest.approx(want.pvalue, rel=1e-6)

    async def test_a_group_new_this_window_has_no_difference_and_is_low_confidence(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await compare(client, metric="nps", group_by="touchpoint", **WINDOWS)
        assert [i["group"]["touchpoint"] for i in body["items"]] == [
            "checkout",
            "delivery",
            "kiosk",
        ]
        kiosk = item_of(body, "kiosk")
        assert kiosk["previous"] == {"value": None, "n": 0, "low_confidence": True}
        assert (kiosk["difference"], kiosk["p_value"], kiosk["significant"]) == (None, None, False)
        assert kiosk["low_confidence"] is True

    async def test_filters_and_enps_read_only_matching_employee_answers(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await compare(client, metric="enps", channel="web", **WINDOWS)
        [item] = body["items"]

        def staff(a: Answer) -> bool:
            return a.channel == "web" and a.audience == "employee" and a.nps is not None

        assert item["group"] == {}
        assert item["current"]["n"] == len(window_values(CURRENT, lambda a: a.nps, staff))
        assert item["previous"]["n"] == len(window_values(PREVIOUS, lambda a: a.nps, staff))

    async def test_previous_window_defaults_to_the_same_length_just_before(
        self, client: httpx.AsyncClient
    ) -> None:
        params = {"current_from": WINDOWS["current_from"], "current_to": WINDOWS["current_to"]}
        body = await compare(client, metric="stars", **params)
        assert datetime.fromisoformat(body["previous_from"]) == PREVIOUS
        assert datetime.fromisoformat(body["previous_to"]) == CURRENT
        explicit = await compare(client, metric="stars", **WINDOWS)
        assert body["items"] == explicit["items"]

    async def test_low_confidence_flags_each_side_below_min_n(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await compare(client, metric="ces", group_by="touchpoint", **WINDOWS)
        item = item_of(body, "delivery")
        for side in ("current", "previous"):
            assert item[side]["low_confidence"] is (item[side]["n"] < MIN_N)
        assert item["low_confidence"] is (min(item["current"]["n"], item["previous"]["n"]) < MIN_N)
