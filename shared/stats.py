"""Intervals and two-sample tests over additive moments (n, sum, sum of squares). Pure.

Every metric is a mean of coded answers, so the rollups' counts and sums are all it takes:
NPS codes promoter/passive/detractor as +1/0/-1 (sum = P - D, sum of squares = P + D), CSAT
codes satisfied as 1 (sum = sum of squares = satisfied), CES, stars and sentiment are their own
codes. Values here are in coded units; callers scale them (x100 for percentages).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shared.distributions import (
    normal_critical,
    normal_two_sided_p,
    t_critical,
    t_two_sided_p,
)

# A negative variance numerator smaller than this (relative to n * sumsq) is float rounding in
# summed sentiment scores; a larger one means the parts are inconsistent (say, rollup rows
# written before sums of squares existed), and no spread is claimed from them.
_ROUNDING = 1e-9


@dataclass(frozen=True, slots=True)
class Moments:
    n: int
    total: float
    sumsq: float

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    def _spread(self) -> float | None:
        """n * sumsq - total^2 (= n^2 x population variance), or None if inconsistent."""
        numerator = self.n * self.sumsq - self.total * self.total
        if numerator < 0:
            if numerator < -_ROUNDING * abs(self.n * self.sumsq):
                return None
            return 0.0
        return float(numerator)

    @property
    def population_variance(self) -> float | None:
        spread = self._spread() if self.n else None
        return None if spread is None else spread / (self.n * self.n)

    @property
    def sample_variance(self) -> float | None:
        spread = self._spread() if self.n >= 2 else None
        return None if spread is None else spread / (self.n * (self.n - 1))

    def __add__(self, other: Moments) -> Moments:
        return Moments(self.n + other.n, self.total + other.total, self.sumsq + other.sumsq)


def nps_moments(n: int, promoters: int, detractors: int) -> Moments:
    return Moments(n, promoters - detractors, promoters + detractors)


def share_moments(n: int, hits: int) -> Moments:
    return Moments(n, hits, hits)


def wilson(hits: int, n: int, z: float) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (fractions); None when n = 0."""
    if n <= 0:
        return None
    p, z2 = hits / n, z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(max(0.0, p * (1 - p)) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def t_margin(m: Moments, level: float) -> float | None:
    """Half-width of the t-interval of the mean (df = n - 1); None when n < 2."""
    variance = m.sample_variance
    if variance is None:
        return None
    return t_critical(level, m.n - 1) * math.sqrt(variance / m.n)


@dataclass(frozen=True, slots=True)
class Difference:
    """current - previous, its interval, and the test of 'no difference'."""

    value: float | None
    ci: tuple[float, float] | None = None
    statistic: float | None = None
    df: float | None = None
    p_value: float | None = None

    def scaled(self, factor: float) -> Difference:
        return Difference(
            value=None if self.value is None else self.value * factor,
            ci=None if self.ci is None else (self.ci[0] * factor, self.ci[1] * factor),
            statistic=self.statistic,
            df=self.df,
            p_value=self.p_value,
        )


def _degenerate_p(difference: float) -> float:
    """p when both sides are constant: the same constant (no evidence) or two (a sure shift)."""
    return 1.0 if difference == 0 else 0.0


def z_difference(current: Moments, previous: Moments, level: float) -> Difference:
    """Two-sample z for a difference of coded means (NPS, proportions).

    The interval uses each side's own variance (Wald); the test uses the variance pooled under
    the null hypothesis of one common distribution, like the classic two-proportion z test.
    """
    if current.mean is None or previous.mean is None:
        return Difference(None)
    difference = current.mean - previous.mean
    v1, v2 = current.population_variance, previous.population_variance
    pooled = (current + previous).population_variance
    if current.n < 2 or previous.n < 2 or v1 is None or v2 is None or pooled is None:
        return Difference(difference)
    half = normal_critical(level) * math.sqrt(v1 / current.n + v2 / previous.n)
    ci = (difference - half, difference + half)
    se0 = math.sqrt(pooled * (1 / current.n + 1 / previous.n))
    if se0 == 0:
        return Difference(difference, ci, None, None, _degenerate_p(difference))
    statistic = difference / se0
    return Difference(difference, ci, statistic, None, normal_two_sided_p(statistic))


def welch_difference(current: Moments, previous: Moments, level: float) -> Difference:
    """Welch's t for a difference of means, Welch-Satterthwaite degrees of freedom."""
    if current.mean is None or previous.mean is None:
        return Difference(None)
    difference = current.mean - previous.mean
    s1, s2 = current.sample_variance, previous.sample_variance
    if s1 is None or s2 is None:
        return Difference(difference)
    a, b = s1 / current.n, s2 / previous.n
    se = math.sqrt(a + b)
    if se == 0:
        flat = (difference, difference)
        return Difference(difference, flat, None, None, _degenerate_p(difference))
    statistic = difference / se
    df = (a + b) ** 2 / (a * a / (current.n - 1) + b * b / (previous.n - 1))
    half = t_critical(level, df) * se
    ci = (difference - half, difference + half)
    return Difference(difference, ci, statistic, df, t_two_sided_p(statistic, df))
