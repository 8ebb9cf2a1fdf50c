"""Intervals and two-sample tests over moments, against scipy and the standard library on the
raw answers the moments summarise."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence

import pytest
from scipy import stats

from shared.stats import (
    Moments,
    nps_moments,
    share_moments,
    t_margin,
    welch_difference,
    wilson,
    z_difference,
)


def moments(values: Sequence[float]) -> Moments:
    return Moments(len(values), sum(values), sum(v * v for v in values))


def coded_nps(answers: list[int]) -> list[int]:
    return [1 if a >= 9 else -1 if a <= 6 else 0 for a in answers]


def nps_of(answers: list[int]) -> Moments:
    promoters = sum(a >= 9 for a in answers)
    detractors = sum(a <= 6 for a in answers)
    return nps_moments(len(answers), promoters, detractors)


class TestMoments:
    def test_variances_match_statistics_on_the_raw_values(self) -> None:
        rng = random.Random(3)
        values = [rng.randint(1, 7) for _ in range(57)]
        m = moments(values)
        assert m.mean == pytest.approx(statistics.fmean(values))
        assert m.population_variance == pytest.approx(statistics.pvariance(values))
        assert m.sample_variance == pytest.approx(statistics.variance(values))

    def test_nps_moments_are_those_of_answers_coded_plus_one_zero_minus_one(self) -> None:
        rng = random.Random(4)
        answers = [rng.randint(0, 10) for _ in range(80)]
        assert nps_of(answers) == moments([float(c) for c in coded_nps(answers)])

    def test_no_values_have_no_mean_and_one_value_no_sample_variance(self) -> None:
        assert (Moments(0, 0, 0).mean, Moments(0, 0, 0).population_variance) == (None, None)
        assert (Moments(1, 5, 25).population_variance, Moments(1, 5, 25).sample_variance) == (
            0.0,
            None,
        )

    def test_inconsistent_parts_claim_no_spread(self) -> None:
        # Sums without their squares (rollup rows older than the sumsq columns).
        stale = Moments(10, 50, 0)
        assert (stale.population_variance, stale.sample_variance) == (None, None)

    def test_float_rounding_below_zero_is_zero_spread(self) -> None:
        values = [0.1] * 1000
        m = Moments(1000, math.fsum(values), 1000 * 0.1 * 0.1 * (1 - 1e-15))
        assert m.sample_variance == 0.0


class TestWilson:
    @pytest.mark.parametrize(("hits", "n"), [(0, 1), (1, 1), (3, 10), (0, 50), (50, 50), (71, 137)])
    def test_matches_scipy_binomtest(self, hits: int, n: int) -> None:
        want = stats.binomtest(hits, n).proportion_ci(0.95, method="wilson")
        got = wilson(hits, n, stats.norm.ppf(0.975))
        assert got is not None
        assert got == pytest.approx((want.low, want.high), rel=1e-12, abs=1e-15)

    def test_no_answers_have_no_interval(self) -> None:
        assert wilson(0, 0, 1.96) is None


class TestTMargin:
    def test_matches_scipy_one_sample_interval(self) -> None:
        rng = random.Random(5)
        values = [rng.randint(1, 5) for _ in range(23)]
        want = stats.ttest_1samp(values, 0).confidence_interval(0.95)
        margin = t_margin(moments(values), 0.95)
        assert margin == pytest.approx((want.high - want.low) / 2, rel=1e-10)

    def test_one_value_has_no_interval(self) -> None:
        assert t_margin(moments([4]), 0.95) is None

    def test_identical_values_have_zero_width(self) -> None:
        assert t_margin(moments([3, 3, 3]), 0.95) == 0.0


class TestNpsDifference:
    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_matches_an_independent_z_on_coded_answers(self, seed: int) -> None:
        rng = random.Random(seed)
        current = [rng.randint(0, 10) for _ in range(rng.randint(40, 300))]
        previous = [rng.choice([3, 8, 9, 10, 10]) for _ in range(rng.randint(40, 300))]
        a, b = coded_nps(current), coded_nps(previous)
        diff = statistics.fmean(a) - statistics.fmean(b)
        se = math.sqrt(statistics.pvariance(a) / len(a) + statistics.pvariance(b) / len(b))
        se0 = math.sqrt(statistics.pvariance(a + b) * (1 / len(a) + 1 / len(b)))
        z = stats.norm.ppf(0.975)
        got = z_difference(nps_of(current), nps_of(previous), 0.95)
        assert got.value == pytest.approx(diff)
        assert got.ci == pytest.approx((diff - z * se, diff + z * se))
        assert got.statistic == pytest.approx(diff / se0)
        assert got.p_value == pytest.approx(2 * stats.norm.sf(abs(diff / se0)))

    def test_all_promoters_against_all_detractors_is_significant(self) -> None:
        got = z_difference(nps_of([10] * 40), nps_of([0] * 40), 0.95)
        assert got.value == 2.0 and got.ci == (2.0, 2.0)
        # Pooled under the null: half +1, half -1, variance 1.
        assert got.statistic == pytest.approx(2.0 / math.sqrt(2 / 40))
        assert got.p_value is not None and got.p_value < 1e-9

    def test_all_promoters_in_both_windows_is_no_evidence(self) -> None:
        got = z_difference(nps_of([9, 10] * 20), nps_of([10] * 31), 0.95)
        assert (got.value, got.ci, got.statistic, got.p_value) == (0.0, (0.0, 0.0), None, 1.0)

    def test_one_answer_on_a_side_gives_the_difference_without_a_test(self) -> None:
        got = z_difference(nps_of([10]), nps_of([0, 3, 10]), 0.95)
        assert got.value == pytest.approx(1 - (-1 / 3))
        assert (got.ci, got.statistic, got.p_value) == (None, None, None)

    def test_no_answers_on_a_side_gives_nothing(self) -> None:
        got = z_difference(nps_of([]), nps_of([10, 0]), 0.95)
        assert (got.value, got.ci, got.p_value) == (None, None, None)


class TestProportionDifference:
    @pytest.mark.parametrize(
        ("x1", "n1", "x2", "n2"), [(45, 60, 30, 55), (5, 9, 8, 9), (1, 2, 0, 3)]
    )
    def test_p_value_matches_scipy_chi_square_without_correction(
        self, x1: int, n1: int, x2: int, n2: int
    ) -> None:
        want = stats.chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)
        got = z_difference(share_moments(n1, x1), share_moments(n2, x2), 0.95)
        p1, p2 = x1 / n1, x2 / n2
        half = stats.norm.ppf(0.975) * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        assert got.p_value == pytest.approx(want.pvalue, rel=1e-9)
        assert got.statistic is not None
        assert got.statistic**2 == pytest.approx(want.statistic, rel=1e-9)
        assert got.ci == pytest.approx((p1 - p2 - half, p1 - p2 + half))

    def test_everyone_satisfied_in_both_windows_is_not_significant(self) -> None:
        got = z_difference(share_moments(40, 40), share_moments(35, 35), 0.95)
        assert (got.value, got.p_value) == (0.0, 1.0)


class TestWelchDifference:
    @pytest.mark.parametrize("seed", [1, 2, 3, 4])
    @pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
    def test_matches_scipy_welch_t_test(self, seed: int, level: float) -> None:
        rng = random.Random(seed)
        current = [rng.randint(1, 7) for _ in range(rng.randint(2, 120))]
        previous = [rng.choice([1, 2, 6, 7]) for _ in range(rng.randint(2, 120))]
        want = stats.ttest_ind(current, previous, equal_var=False)
        got = welch_difference(moments(current), moments(previous), level)
        ci = want.confidence_interval(level)
        assert got.value == pytest.approx(statistics.fmean(current) - statistics.fmean(previous))
        assert got.statistic == pytest.approx(want.statistic, rel=1e-9)
        assert got.df == pytest.approx(want.df, rel=1e-9)
        assert got.p_value == pytest.approx(want.pvalue, rel=1e-8)
        assert got.ci == pytest.approx((ci.low, ci.high), rel=1e-9)

    def test_real_valued_scores_match_scipy(self) -> None:
        rng = random.Random(9)
        current = [rng.uniform(-1, 1) for _ in range(300)]
        previous = [rng.uniform(-0.5, 1) for _ in range(200)]
        want = stats.ttest_ind(current, previous, equal_var=False)
        got = welch_difference(moments(current), moments(previous), 0.95)
        assert got.p_value == pytest.approx(want.pvalue, rel=1e-6)

    def test_one_answer_on_a_side_has_no_test(self) -> None:
        got = welch_difference(moments([5]), moments([1, 2, 3]), 0.95)
        assert got.value == pytest.approx(3.0)
        assert (got.ci, got.statistic, got.df, got.p_value) == (None, None, None, None)

    @pytest.mark.filterwarnings("ignore:Precision loss occurred")
    def test_two_different_constants_are_a_sure_shift_like_scipy(self) -> None:
        assert stats.ttest_ind([5, 5], [3, 3], equal_var=False).pvalue == 0.0
        got = welch_difference(moments([5, 5]), moments([3, 3]), 0.95)
        assert (got.value, got.ci, got.statistic, got.p_value) == (2.0, (2.0, 2.0), None, 0.0)

    def test_the_same_constant_is_no_evidence(self) -> None:
        got = welch_difference(moments([4, 4, 4]), moments([4, 4]), 0.95)
        assert (got.value, got.p_value) == (0.0, 1.0)

    def test_scaled_moves_value_and_interval_not_the_test(self) -> None:
        got = welch_difference(moments([0.1, 0.5, 0.2]), moments([-0.3, 0.1, 0.0]), 0.95)
        scaled = got.scaled(100)
        assert scaled.value == pytest.approx(100 * (got.value or 0))
        assert scaled.ci == pytest.approx(tuple(100 * c for c in got.ci or ()))
        assert (scaled.statistic, scaled.p_value, scaled.df) == (got.statistic, got.p_value, got.df)
