"""Period-over-period items from both windows' parts, against scipy on the raw answers."""

from __future__ import annotations

import math
import random
import statistics
from typing import Any

import pytest
from scipy import stats

from services.api.compare import compare_item
from services.api.scores import PART_KEYS

MIN_N = 30


def side(prefix: str, **answers: list[Any]) -> dict[str, float]:
    """One window's summed parts, labelled as the repository labels them, from raw answers."""
    out: dict[str, float] = {f"{prefix}_{k}": 0 for k in ("n", *PART_KEYS)}

    def put(key: str, value: float) -> None:
        out[f"{prefix}_{key}"] = value

    for name in ("nps", "enps"):
        values = answers.get(name, [])
        put(f"{name}_n", len(values))
        put(f"{name}_promoters", sum(v >= 9 for v in values))
        put(f"{name}_detractors", sum(v <= 6 for v in values))
    csat = answers.get("csat", [])
    put("csat_n", len(csat))
    put("csat_satisfied", sum(v >= 4 for v in csat))
    for name in ("ces", "stars", "sentiment"):
        values = answers.get(name, [])
        put(f"{name}_n", len(values))
        put(f"{name}_sum", sum(values))
        put(f"{name}_sumsq", sum(v * v for v in values))
    return out


def row(current: dict[str, list[Any]], previous: dict[str, list[Any]]) -> dict[str, Any]:
    return {**side("current", **current), **side("previous", **previous), "touchpoint": "web"}


def nps_coded(values: list[int]) -> list[int]:
    return [100 if v >= 9 else -100 if v <= 6 else 0 for v in values]


class TestCompareNps:
    def test_matches_an_independent_z_on_answers_coded_plus_minus_100(self) -> None:
        rng = random.Random(21)
        now = [rng.choice([0, 5, 7, 9, 10, 10]) for _ in range(180)]
        before = [rng.randint(0, 10) for _ in range(150)]
        item = compare_item(row({"nps": now}, {"nps": before}), "nps", 0.9, ["touchpoint"], MIN_N)
        a, b = nps_coded(now), nps_coded(before)
        diff = statistics.fmean(a) - statistics.fmean(b)
        se = math.sqrt(statistics.pvariance(a) / len(a) + statistics.pvariance(b) / len(b))
        se0 = math.sqrt(statistics.pvariance(a + b) * (1 / len(a) + 1 / len(b)))
        z = stats.norm.ppf(0.95)
        assert item.current.value == pytest.approx(statistics.fmean(a))
        assert item.previous.n == 150 and item.group == {"touchpoint": "web"}
        assert item.difference == pytest.approx(diff)
        assert (item.ci_low, item.ci_high) == pytest.approx((diff - z * se, diff + z * se))
        assert item.p_value == pytest.approx(2 * stats.norm.sf(abs(diff / se0)))
        assert item.significant is (item.p_value is not None and item.p_value < 0.1)
        assert item.low_confidence is False

    def test_all_promoters_now_against_all_detractors_before(self) -> None:
        item = compare_item(row({"nps": [10] * 40}, {"nps": [2] * 40}), "nps", 0.95, [], MIN_N)
        assert (item.current.value, item.previous.value, item.difference) == (100, -100, 200)
        assert (item.ci_low, item.ci_high) == (200.0, 200.0)
        assert item.significant is True

    def test_enps_reads_the_employee_parts(self) -> None:
        item = compare_item(row({"nps": [10] * 5, "enps": [0, 0]}, {"enps": [10, 10]}), "enps",
                            0.95, [], MIN_N)  # fmt: skip
        assert (item.current.n, item.current.value, item.difference) == (2, -100.0, -200.0)

    @pytest.mark.parametrize(("now", "before"), [([], [9, 10]), ([9], [0, 10]), ([], [])])
    def test_too_few_answers_give_no_interval_and_are_never_significant(
        self, now: list[int], before: list[int]
    ) -> None:
        item = compare_item(row({"nps": now}, {"nps": before}), "nps", 0.95, [], MIN_N)
        assert (item.ci_low, item.ci_high, item.p_value, item.significant) == (
            None, None, None, False,
        )  # fmt: skip
        assert item.difference is None if not now or not before else item.difference is not None
        assert item.low_confidence is True


class TestCompareCsat:
    def test_matches_scipy_chi_square_and_a_wald_interval(self) -> None:
        rng = random.Random(5)
        now = [rng.choice([1, 4, 5, 5]) for _ in range(90)]
        before = [rng.randint(1, 5) for _ in range(70)]
        item = compare_item(row({"csat": now}, {"csat": before}), "csat", 0.95, [], MIN_N)
        x1, x2 = sum(v >= 4 for v in now), sum(v >= 4 for v in before)
        want = stats.chi2_contingency([[x1, 90 - x1], [x2, 70 - x2]], correction=False)
        p1, p2 = x1 / 90, x2 / 70
        half = 100 * stats.norm.ppf(0.975) * math.sqrt(p1 * (1 - p1) / 90 + p2 * (1 - p2) / 70)
        assert item.difference == pytest.approx(100 * (p1 - p2))
        assert item.p_value == pytest.approx(want.pvalue)
        assert (item.ci_low, item.ci_high) == pytest.approx(
            (100 * (p1 - p2) - half, 100 * (p1 - p2) + half)
        )


class TestCompareMeans:
    @pytest.mark.parametrize(("metric", "scale", "draw"), [
        ("ces", 1, lambda rng: rng.randint(1, 7)),
        ("stars", 1, lambda rng: rng.randint(1, 5)),
        ("sentiment", 100, lambda rng: round(rng.uniform(-1, 1), 3)),
    ])  # fmt: skip
    def test_match_scipy_welch(self, metric: str, scale: float, draw: Any) -> None:
        rng = random.Random(len(metric))
        now = [draw(rng) for _ in range(64)]
        before = [draw(rng) for _ in range(41)]
        item = compare_item(row({metric: now}, {metric: before}), metric, 0.99, [], MIN_N)  # type: ignore[arg-type]
        want = stats.ttest_ind(now, before, equal_var=False)
        ci = want.confidence_interval(0.99)
        assert item.current.value == pytest.approx(scale * statistics.fmean(now))
        assert item.difference == pytest.approx(
            scale * (statistics.fmean(now) - statistics.fmean(before))
        )
        assert (item.ci_low, item.ci_high) == pytest.approx((scale * ci.low, scale * ci.high))
        assert (item.statistic, item.df) == pytest.approx((want.statistic, want.df))
        assert item.p_value == pytest.approx(want.pvalue, rel=1e-6)

    def test_interval_is_clipped_to_the_widest_possible_difference(self) -> None:
        item = compare_item(row({"ces": [7, 7, 1]}, {"ces": [1, 1]}), "ces", 0.95, [], MIN_N)
        assert item.ci_high == 6.0 and item.ci_low is not None and item.ci_low >= -6.0

    def test_one_answer_a_side_reports_the_difference_only(self) -> None:
        item = compare_item(row({"stars": [5]}, {"stars": [1, 2]}), "stars", 0.95, [], MIN_N)
        assert (item.difference, item.p_value, item.significant) == (3.5, None, False)
