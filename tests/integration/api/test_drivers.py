"""GET /v1/drivers on seeded rollups and slices, against statistics of the raw answers (scipy)."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from scipy import stats
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.api.conftest import MIN_N
from tests.integration.api.generated import DAYS, START, TOPICS, Answer, generate, seed

ANSWERS = generate()
WINDOW = {"from": START.isoformat(), "to": (START + timedelta(days=DAYS)).isoformat()}
EDGE = START + timedelta(days=20)
EDGE_WINDOW = {"from": EDGE.isoformat(), "to": (EDGE + timedelta(days=1)).isoformat()}


def edge_answers() -> list[Answer]:
    """A day where `returns` has one NPS answer and `pricing` none (only CSAT)."""
    rng = random.Random(9)
    out = []
    for i in range(40):
        nps: int | None = rng.randint(0, 10)
        topics: tuple[str, ...] = ("delivery", "billing") if i % 3 == 0 else ()
        if i == 1:
            nps, topics = 2, ("returns",)
        elif i in (2, 4, 5):
            nps, topics = None, ("pricing",)
        out.append(
            Answer(EDGE + timedelta(minutes=17 * i), "checkout", "conversion", "survey", "web",
                   "", "en", "transactional", "customer", nps, rng.randint(1, 5), None,
                   rng.randint(1, 5), round(rng.uniform(-1, 1), 3), topics)
        )  # fmt: skip
    return out


EDGES = edge_answers()


@pytest.fixture(scope="module", autouse=True)
async def seeded(writer: AsyncEngine) -> None:
    async with writer.begin() as conn:
        await seed(conn, ANSWERS + EDGES)


def coded(metric: str) -> Callable[[Answer], float | None]:
    """Each customer answer's value on the metric's own scale (NPS ±100/0, CSAT 100/0); None if
    none, and for every employee-survey answer: every driver metric is a customer metric."""

    def nps(a: Answer) -> float | None:
        if a.nps is None:
            return None
        return 100.0 if a.nps >= 9 else -100.0 if a.nps <= 6 else 0.0

    def csat(a: Answer) -> float | None:
        return None if a.csat is None else 100.0 * (a.csat >= 4)

    pick: dict[str, Callable[[Answer], float | None]] = {
        "nps": nps,
        "csat": csat,
        "ces": lambda a: None if a.ces is None else float(a.ces),
        "stars": lambda a: None if a.stars is None else float(a.stars),
        "sentiment": lambda a: None if a.sentiment is None else 100 * a.sentiment,
    }
    chosen = pick[metric]
    return lambda a: None if a.audience == "employee" else chosen(a)


def values(metric: str, answers: list[Answer]) -> list[float]:
    pick = coded(metric)
    return [v for a in answers if (v := pick(a)) is not None]


def expected_item(metric: str, answers: list[Answer], topic: str, level: float) -> dict[str, Any]:
    """The item /v1/drivers should serve for `topic`, from the raw answers."""
    with_, without = (
        [a for a in answers if topic in a.topics],
        [a for a in answers if topic not in a.topics],
    )
    x, y, everything = values(metric, with_), values(metric, without), values(metric, answers)
    out: dict[str, Any] = {
        "n": len(with_),
        "share": len(with_) / len(answers),
        "metric_share": len(x) / len(everything),
        "with_n": len(x),
        "without_n": len(y),
        "with_value": statistics.fmean(x) if x else None,
        "without_value": statistics.fmean(y) if y else None,
    }
    if not x or not y:
        return out | {"difference": None, "impact": None, "p_value": None}
    diff = statistics.fmean(x) - statistics.fmean(y)
    out |= {"difference": diff, "impact": out["metric_share"] * -diff}
    if len(x) < 2 or len(y) < 2:
        return out | {"ci": None, "p_value": None}
    if metric in ("nps", "csat"):
        z = stats.norm.ppf(0.5 + level / 2)
        se = math.sqrt(statistics.pvariance(x) / len(x) + statistics.pvariance(y) / len(y))
        se0 = math.sqrt(statistics.pvariance(x + y) * (1 / len(x) + 1 / len(y)))
        out |= {"ci": (diff - z * se, diff + z * se), "statistic": diff / se0, "df": None}
        out["p_value"] = 2 * stats.norm.sf(abs(diff / se0))
    else:
        welch = stats.ttest_ind(x, y, equal_var=False)
        ci = welch.confidence_interval(level)
        out |= {"ci": (ci.low, ci.high), "statistic": welch.statistic, "df": welch.df}
        out["p_value"] = welch.pvalue
    return out


def expected_side(metric: str, xs: list[float], level: float) -> tuple[Any, Any]:
    """The interval of one side's value, clipped to the scale as the API clips it."""
    low, high = {"nps": (-100, 100), "csat": (0, 100), "ces": (1, 7), "stars": (1, 5),
                 "sentiment": (-100, 100)}[metric]  # fmt: skip
    if metric == "csat":
        wilson = stats.binomtest(int(sum(xs) / 100), len(xs)).proportion_ci(level, "wilson")
        return 100 * wilson.low, 100 * wilson.high
    if metric == "nps":
        half = stats.norm.ppf(0.5 + level / 2) * math.sqrt(statistics.pvariance(xs) / len(xs))
    else:
        ci = stats.ttest_1samp(xs, 0).confidence_interval(level)
        half = (ci.high - ci.low) / 2
    mean = statistics.fmean(xs)
    return max(low, mean - half), min(high, mean + half)


async def drivers(client: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    response = await client.get("/v1/drivers", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def approx(value: Any) -> Any:
    return None if value is None else pytest.approx(value, rel=1e-9, abs=1e-9)


class TestDrivers:
    @pytest.mark.parametrize(
        ("metric", "filters"),
        [
            ("nps", {}),
            ("nps", {"touchpoint": "checkout"}),
            ("csat", {"channel": "web"}),
            ("ces", {"journey_stage": "retention"}),
            ("stars", {}),
            ("sentiment", {"touchpoint": "delivery", "journey_stage": "retention"}),
        ],
    )
    async def test_every_figure_matches_the_raw_answers(
        self, client: httpx.AsyncClient, metric: str, filters: dict[str, str]
    ) -> None:
        level = 0.9
        body = await drivers(client, metric=metric, level=str(level), **filters, **WINDOW)
        answers = [a for a in ANSWERS if all(getattr(a, k) == v for k, v in filters.items())]
        assert (body["metric"], body["level"], body["filters"], body["n"]) == (
            metric, level, filters, len(answers),
        )  # fmt: skip
        everything = values(metric, answers)
        assert body["overall"]["n"] == len(everything)
        assert body["overall"]["value"] == approx(statistics.fmean(everything))
        assert (body["overall"]["ci_low"], body["overall"]["ci_high"]) == pytest.approx(
            expected_side(metric, everything, level)
        )
        seen = sorted({t for a in answers for t in a.topics})
        assert sorted(i["topic"] for i in body["items"]) == seen
        impacts = [i["impact"] for i in body["items"]]
        assert impacts == sorted(impacts, reverse=True)
        for item in body["items"]:
            want = expected_item(metric, answers, item["topic"], level)
            assert (item["n"], item["share"]) == (want["n"], approx(want["share"]))
            assert item["metric_share"] == approx(want["metric_share"])
            for side in ("with", "without"):
                got = item[f"{side}_topic"]
                assert got["n"] == want[f"{side}_n"]
                assert got["value"] == approx(want[f"{side}_value"])
                assert got["low_confidence"] is (want[f"{side}_n"] < MIN_N)
            assert item["difference"] == approx(want["difference"])
            assert item["impact"] == approx(want["impact"])
            assert item["p_value"] == approx(want["p_value"])
            assert item["statistic"] == approx(want["statistic"])
            assert item["df"] == approx(want["df"])
            low, high = want["ci"]
            assert (item["ci_low"], item["ci_high"]) == (approx(low), approx(high))
            share = want["metric_share"]
            assert item["impact_ci_low"] == approx(-share * high)
            assert item["impact_ci_high"] == approx(-share * low)
            assert item["significant"] is bool(want["p_value"] < 1 - level)

    async def test_delivery_drags_nps_down_significantly(self, client: httpx.AsyncClient) -> None:
        # The generator puts delivery on half the detractors: the largest, significant impact.
        body = await drivers(client, metric="nps", **WINDOW)
        top = body["items"][0]
        assert top["topic"] == "delivery" and top["impact"] > 0 and top["significant"] is True
        assert body["test"] == "two_sample_z"

    async def test_one_answer_and_no_answers_with_the_topic(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await drivers(client, metric="nps", **EDGE_WINDOW)
        items = {i["topic"]: i for i in body["items"]}
        assert set(items) == {"delivery", "billing", "returns", "pricing"}
        one = items["returns"]
        want = expected_item("nps", EDGES, "returns", 0.95)
        assert one["with_topic"] == {
            "value": -100.0, "n": 1, "ci_low": -100.0, "ci_high": -100.0,
            "low_confidence": True,
        }  # fmt: skip
        assert one["difference"] == approx(want["difference"])
        assert one["impact"] == approx(want["impact"])
        assert (one["ci_low"], one["p_value"], one["impact_ci_low"]) == (None, None, None)
        none = items["pricing"]
        assert (none["n"], none["share"]) == (3, 3 / 40)
        assert none["with_topic"]["n"] == 0 and none["with_topic"]["value"] is None
        assert (none["difference"], none["impact"], none["significant"]) == (None, None, False)
        assert [i["topic"] for i in body["items"]][-1] == "pricing"  # null impact last

    async def test_a_window_without_feedback_is_empty(self, client: httpx.AsyncClient) -> None:
        body = await drivers(client, metric="ces", **{"from": "2001-01-01", "to": "2001-02-01"})
        assert (body["items"], body["n"], body["overall"]["value"]) == ([], 0, None)

    async def test_facts_without_topics_are_counted_overall_but_not_a_topic(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await drivers(client, metric="stars", **WINDOW)
        assert any(not a.topics for a in ANSWERS) and body["n"] == len(ANSWERS)
        assert {i["topic"] for i in body["items"]} == set(TOPICS)

    @pytest.mark.parametrize(
        ("params", "name", "mentions"),
        [
            ({}, "metric", "required"),
            ({"metric": "enps"}, "metric", "nps"),
            ({"metric": "mood"}, "metric", "csat"),
            ({"metric": "nps", "from": "2024-02-01", "to": "2024-01-01"}, "from", "earlier"),
            ({"metric": "nps", "level": "1.5"}, "level", "0.9999"),
            ({"metric": "nps", "segment": "vip"}, "segment", "touchpoint, journey_stage, channel"),
            ({"metric": "nps", "audience": "customer"}, "audience", "cannot be filtered"),
            ({"metric": "nps", "topic": "delivery"}, "topic", "cannot be filtered"),
            ({"metric": "nps", "touchpoint": "checkout", "channel": "web"}, "channel", "{channel}"),
            ({"metric": "nps", "tz": "Nowhere"}, "tz", "IANA"),
        ],
    )
    async def test_bad_parameters_are_422_naming_them(
        self, client: httpx.AsyncClient, params: dict[str, str], name: str, mentions: str
    ) -> None:
        response = await client.get("/v1/drivers", params=params)
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert error["loc"] == ["query", name]
        assert mentions in error["msg"]
