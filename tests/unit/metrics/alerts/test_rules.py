"""The alert decision against independent computations (scipy on the raw answers)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from scipy import stats

from services.metrics.alerts.rules import (
    Action,
    Figures,
    Thresholds,
    assess,
    decide,
    dropped,
    windows,
)

T = Thresholds(level=0.95, stay_level=0.95, min_n=30)


def mean_parts(prefix: str, xs: list[float]) -> dict[str, float]:
    return {
        f"{prefix}_n": len(xs),
        f"{prefix}_sum": sum(xs),
        f"{prefix}_sumsq": sum(x * x for x in xs),
    }


def nps_parts(scores: list[int]) -> dict[str, float]:
    return {
        "nps_n": len(scores),
        "nps_promoters": sum(s >= 9 for s in scores),
        "nps_detractors": sum(s <= 6 for s in scores),
    }


def nps_codes(scores: list[int]) -> list[int]:
    return [1 if s >= 9 else -1 if s <= 6 else 0 for s in scores]


def pooled_z(a: Sequence[float], b: Sequence[float]) -> float:
    """z of 'no difference' with the population variance of both samples pooled."""
    both = [*a, *b]
    pooled = stats.tvar(both) * (len(both) - 1) / len(both)
    diff = sum(a) / len(a) - sum(b) / len(b)
    return diff / math.sqrt(pooled * (1 / len(a) + 1 / len(b)))


def sample(rng: random.Random, n: int, low: int, high: int, bias: float) -> list[int]:
    return [min(high, max(low, round(rng.gauss(bias, 2)))) for _ in range(n)]


class TestAssess:
    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_nps_is_a_pooled_two_sample_z_one_sided(self, seed: int) -> None:
        rng = random.Random(seed)
        now, before = sample(rng, 80, 0, 10, 7.0), sample(rng, 300, 0, 10, 8.0)
        f = assess("nps", nps_parts(now), nps_parts(before), 0.95)
        a, b = nps_codes(now), nps_codes(before)
        z = pooled_z(a, b)
        assert f.difference == pytest.approx(100 * (sum(a) / len(a) - sum(b) / len(b)))
        assert f.statistic == pytest.approx(z)
        assert f.p_value == pytest.approx(stats.norm.cdf(z), rel=1e-9)
        assert (f.window_n, f.baseline_n) == (80, 300)
        # Wald interval: each window's own variance.
        se = math.sqrt(stats.tvar(a) * 79 / 80 / 80 + stats.tvar(b) * 299 / 300 / 300)
        half = 100 * stats.norm.ppf(0.975) * se
        assert (f.ci_low, f.ci_high) == pytest.approx((f.difference - half, f.difference + half))

    def test_csat_is_the_two_proportion_z(self) -> None:
        now = {"csat_n": 120, "csat_satisfied": 78}
        before = {"csat_n": 400, "csat_satisfied": 300}
        f = assess("csat", now, before, 0.95)
        p1, p2, p = 78 / 120, 300 / 400, 378 / 520
        z = (p1 - p2) / math.sqrt(p * (1 - p) * (1 / 120 + 1 / 400))
        assert f.window_value == pytest.approx(65.0)
        assert f.baseline_value == pytest.approx(75.0)
        assert f.p_value == pytest.approx(stats.norm.cdf(z), rel=1e-9)

    @pytest.mark.parametrize(("metric", "low", "high", "scale"), [
        ("ces", 1, 7, 1.0), ("stars", 1, 5, 1.0), ("sentiment", -1, 1, 100.0),
    ])  # fmt: skip
    def test_means_use_welch_t_one_sided(
        self, metric: str, low: int, high: int, scale: float
    ) -> None:
        rng = random.Random(metric)
        if metric == "sentiment":
            now = [rng.uniform(-1, 0.6) for _ in range(60)]
            before = [rng.uniform(-0.8, 1) for _ in range(200)]
        else:
            now = [float(x) for x in sample(rng, 60, low, high, high - 2.0)]
            before = [float(x) for x in sample(rng, 200, low, high, high - 1.0)]
        f = assess(metric, mean_parts(metric, now), mean_parts(metric, before), 0.95)
        want = stats.ttest_ind(now, before, equal_var=False, alternative="less")
        assert f.statistic == pytest.approx(want.statistic, rel=1e-9)
        assert f.p_value == pytest.approx(want.pvalue, rel=1e-6)
        two_sided = stats.ttest_ind(now, before, equal_var=False)
        ci = two_sided.confidence_interval(0.95)
        assert (f.ci_low, f.ci_high) == pytest.approx((scale * ci.low, scale * ci.high), rel=1e-6)

    def test_a_rise_has_a_large_one_sided_p_and_never_counts_as_a_drop(self) -> None:
        f = assess("nps", nps_parts([10] * 100), nps_parts([0] * 50 + [10] * 50), 0.95)
        assert f.difference is not None and f.difference > 0
        assert f.p_value is not None and f.p_value > 0.99
        assert not dropped(f, 0.95)

    def test_no_answers_give_no_figures(self) -> None:
        f = assess("ces", {}, mean_parts("ces", [5.0] * 40), 0.95)
        assert (f.window_value, f.window_n, f.difference, f.p_value) == (None, 0, None, None)

    def test_all_satisfied_to_none_satisfied_is_a_drop(self) -> None:
        none_, all_ = {"csat_n": 40, "csat_satisfied": 0}, {"csat_n": 40, "csat_satisfied": 40}
        f = assess("csat", none_, all_, 0.95)
        z = pooled_z([0.0] * 40, [1.0] * 40)
        assert f.p_value == pytest.approx(stats.norm.cdf(z), rel=1e-9)
        assert dropped(f, 0.95)


def figures(window_n: int, baseline_n: int, difference: float, p: float) -> Figures:
    return Figures(50.0, window_n, 60.0, baseline_n, difference, None, None, None, p)


class TestDecide:
    @pytest.mark.parametrize(
        ("f", "is_open", "action"),
        [
            (figures(100, 400, -10, 0.01), False, Action.OPEN),
            (figures(100, 400, -10, 0.01), True, Action.KEEP),
            (figures(100, 400, -10, 0.06), False, Action.NONE),
            (figures(100, 400, -2, 0.30), True, Action.RESOLVE),
            (figures(100, 400, 5, 0.99), True, Action.RESOLVE),
            (figures(29, 400, -80, 1e-9), False, Action.NONE),  # window n < min_n
            (figures(100, 29, -80, 1e-9), False, Action.NONE),  # baseline n < min_n
            (figures(30, 30, -80, 1e-9), False, Action.OPEN),  # exactly min_n is enough
            (figures(5, 400, 10, 0.99), True, Action.KEEP),  # too few to say it recovered
        ],
    )
    def test_decision(self, f: Figures, is_open: bool, action: Action) -> None:
        assert decide(f, is_open, T) is action

    def test_hysteresis_keeps_an_alert_open_until_a_clearer_recovery(self) -> None:
        sticky = Thresholds(level=0.95, stay_level=0.80, min_n=30)
        between = figures(100, 400, -5, 0.10)  # not significant at 95%, still at 80%
        assert decide(between, False, sticky) is Action.NONE
        assert decide(between, True, sticky) is Action.KEEP
        assert decide(figures(100, 400, -1, 0.40), True, sticky) is Action.RESOLVE


class TestWindows:
    def test_the_window_ends_with_the_current_hour_and_the_baseline_precedes_it(self) -> None:
        w = windows(datetime(2026, 3, 29, 1, 59, 59, tzinfo=UTC), timedelta(hours=24),
                    timedelta(days=28))  # fmt: skip
        assert w.window_end == datetime(2026, 3, 29, 2, tzinfo=UTC)
        assert w.window_start == datetime(2026, 3, 28, 2, tzinfo=UTC)
        assert w.baseline_start == datetime(2026, 2, 28, 2, tzinfo=UTC)

    def test_a_zoned_clock_is_read_as_its_utc_instant(self) -> None:
        zoned = datetime(2026, 1, 1, 5, 30, tzinfo=UTC).astimezone()
        assert windows(zoned, timedelta(hours=1), timedelta(hours=1)).window_end == datetime(
            2026, 1, 1, 6, tzinfo=UTC
        )
