"""The pure-Python normal and t distributions against scipy.stats."""

from __future__ import annotations

import pytest
from scipy import stats
from scipy.special import betainc

from shared.distributions import (
    beta_regularized,
    normal_critical,
    normal_two_sided_p,
    t_critical,
    t_two_sided_p,
)

LEVELS = [0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999]
DFS = [1, 1.5, 2, 3, 4, 5, 7.3, 10, 29, 30, 99, 150, 999, 1000, 1001, 10_000, 1e6]


class TestTCritical:
    @pytest.mark.parametrize("df", DFS)
    @pytest.mark.parametrize("level", LEVELS)
    def test_matches_scipy_quantile(self, df: float, level: float) -> None:
        assert t_critical(level, df) == pytest.approx(stats.t.ppf(0.5 + level / 2, df), rel=1e-9)

    def test_one_degree_of_freedom_is_the_cauchy_quantile(self) -> None:
        assert t_critical(0.95, 1) == pytest.approx(12.706204736174705, rel=1e-12)


class TestTTwoSidedP:
    @pytest.mark.parametrize("df", [1, 2, 3.7, 10, 100, 1000, 1e5])
    @pytest.mark.parametrize("t", [0.0, 0.01, 0.5, 1.0, 1.96, 3.0, 10.0, 50.0])
    def test_matches_scipy_survival_function(self, t: float, df: float) -> None:
        assert t_two_sided_p(t, df) == pytest.approx(2 * stats.t.sf(t, df), rel=1e-8, abs=1e-300)

    def test_sign_of_t_does_not_matter(self) -> None:
        assert t_two_sided_p(-2.5, 7) == t_two_sided_p(2.5, 7)

    def test_infinite_t_has_p_zero(self) -> None:
        assert t_two_sided_p(float("inf"), 3) == 0.0


class TestNormal:
    @pytest.mark.parametrize("level", LEVELS)
    def test_critical_matches_scipy(self, level: float) -> None:
        assert normal_critical(level) == pytest.approx(stats.norm.ppf(0.5 + level / 2), rel=1e-12)

    @pytest.mark.parametrize("z", [0.0, -0.3, 1.0, 1.959963984540054, 4.0, -8.0])
    def test_two_sided_p_matches_scipy(self, z: float) -> None:
        assert normal_two_sided_p(z) == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12)


class TestBetaRegularized:
    @pytest.mark.parametrize(("a", "b"), [(0.5, 0.5), (2, 3), (50, 0.5), (0.5, 200), (1e4, 0.5)])
    @pytest.mark.parametrize("x", [0.0, 1e-6, 0.3, 0.5, 0.9, 0.999999, 1.0])
    def test_matches_scipy(self, a: float, b: float, x: float) -> None:
        assert beta_regularized(a, b, x) == pytest.approx(betainc(a, b, x), rel=1e-9, abs=1e-300)
