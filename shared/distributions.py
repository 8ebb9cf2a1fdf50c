"""Normal and Student-t tail probabilities and critical values, in pure Python.

The api image carries no numpy or scipy (see deploy/docker/requirements-service.txt), so the t
distribution is computed here from the regularized incomplete beta function (continued fraction,
modified Lentz) and inverted by safeguarded Newton steps. Tests compare it with scipy.stats.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

_NORMAL = NormalDist()
_EPS = 1e-15
_TINY = 1e-300
# Above this many degrees of freedom the Cornish-Fisher series of the t quantile is exact to
# double precision, and far cheaper than inverting the incomplete beta function.
_CORNISH_FISHER_DF = 1000.0


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of I_x(a, b) (Numerical Recipes' betacf, modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    # Converges in O(sqrt(max(a, b))) steps; the bound only guards against a silent hang.
    for m in range(1, 100_000):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                   -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):  # fmt: skip
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + aa / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            return h
    raise ArithmeticError("incomplete beta continued fraction did not converge")


def beta_regularized(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function, for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with `df` degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return beta_regularized(df / 2.0, 0.5, df / (df + t * t))


def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for the standard normal."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def normal_critical(level: float) -> float:
    """z with P(|Z| <= z) = level."""
    return _NORMAL.inv_cdf(0.5 + level / 2.0)


def _t_density(t: float, df: float) -> float:
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_norm - (df + 1) / 2 * math.log1p(t * t / df))


def _cornish_fisher(z: float, df: float) -> float:
    """The t quantile as a series in 1/df around the normal quantile z (A&S 26.7.5)."""
    z2 = z * z
    g1 = (z2 + 1) * z / 4
    g2 = ((5 * z2 + 16) * z2 + 3) * z / 96
    g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384
    g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


@lru_cache(maxsize=4096)
def t_critical(level: float, df: float) -> float:
    """t with P(|T| <= t) = level for Student's t with `df` (> 0) degrees of freedom."""
    alpha = 1.0 - level
    z = normal_critical(level)
    guess = _cornish_fisher(z, df)
    if df >= _CORNISH_FISHER_DF:
        return guess
    # Bracket the root of p(t) = alpha (p falls as t grows), then Newton, bisecting whenever a
    # step would leave the bracket: heavy tails at df near 1 throw plain Newton far off.
    low, high = 0.0, max(guess, 1.0)
    while t_two_sided_p(high, df) > alpha:
        low, high = high, high * 2.0
    t = min(max(guess, low), high)
    for _ in range(200):
        excess = t_two_sided_p(t, df) - alpha
        if excess > 0:
            low = t
        else:
            high = t
        step = excess / (2.0 * _t_density(t, df))
        if abs(step) <= 1e-15 * t or high - low <= 1e-15 * high:
            return t + step
        candidate = t + step
        t = candidate if low <= candidate <= high else (low + high) / 2.0
    return t
