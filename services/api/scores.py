"""The metric blocks of one score item, from its summed rollup parts (DESIGN.md "Scores").

Shares are fractions of n, values are percentages (or means), and every value is null when its
n is 0 rather than invented. Intervals are 95%: NPS value ± its DESIGN.md margin of error,
Wilson's score interval for CSAT, Student's t (df = n - 1) for the means.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from services.api.schemas import CesScore, CsatScore, NpsScore, SentimentScore, StarsScore
from shared.distributions import normal_critical
from shared.stats import Moments, nps_moments, t_margin, wilson

# DESIGN.md's margins of error use 1.96; the intervals new here use the exact 95% quantiles.
Z95 = 1.96
LEVEL = 0.95
# One result row, by column label (SQLAlchemy RowMapping or a plain dict).
Row = Mapping[Any, Any]

# The summed rollup parts an item's scores are computed from (besides n); the repository
# selects them under these labels.
PART_KEYS = tuple(
    f"{prefix}_{part}"
    for prefix, parts in {
        "nps": ("n", "promoters", "passives", "detractors"),
        "enps": ("n", "promoters", "passives", "detractors"),
        "csat": ("n", "sum", "satisfied"),
        "ces": ("n", "sum", "sumsq", "easy"),
        "stars": ("n", "sum", "sumsq"),
        "sentiment": ("n", "sum", "sumsq", "negative"),
    }.items()
    for part in parts
)


def _ratio(part: float, n: int, scale: float = 100.0) -> float | None:
    return scale * part / n if n else None


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _around(
    value: float | None, moe: float | None, low: float, high: float
) -> dict[str, float | None]:
    """moe and the interval value ± moe clipped to the scale: the true value lies within it."""
    if value is None or moe is None:
        return {"moe": moe, "ci_low": None, "ci_high": None}
    return {
        "moe": moe,
        "ci_low": _clip(value - moe, low, high),
        "ci_high": _clip(value + moe, low, high),
    }


# normal_critical(LEVEL) once: it is an inverse-CDF evaluation, and CSAT needs it per item.
Z_LEVEL = normal_critical(LEVEL)
Block = dict[str, Any]


def nps_block(n: int, promoters: int, passives: int, detractors: int, min_n: int) -> Block:
    value = moe = None
    if n:
        value = 100.0 * (promoters - detractors) / n
        # p + d - (p - d)^2: the variance of answers coded +1/0/-1.
        variance = nps_moments(n, promoters, detractors).population_variance
        moe = None if variance is None else Z95 * 100.0 * math.sqrt(variance / n)
    return {
        "value": value,
        "n": n,
        **_around(value, moe, -100.0, 100.0),
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "low_confidence": n < min_n,
    }


def csat_block(n: int, total: float, satisfied: int, min_n: int) -> Block:
    moe = None
    if n:
        p = satisfied / n
        moe = Z95 * 100.0 * math.sqrt(max(0.0, p * (1 - p)) / n)
    interval = wilson(satisfied, n, Z_LEVEL)
    return {
        "value": _ratio(satisfied, n),
        "n": n,
        "moe": moe,
        "ci_low": None if interval is None else 100.0 * interval[0],
        "ci_high": None if interval is None else 100.0 * interval[1],
        "mean": _ratio(total, n, 1.0),
        "low_confidence": n < min_n,
    }


def _mean_block(
    n: int, total: float, sumsq: float, scale: float, low: float, high: float
) -> dict[str, Any]:
    """value = scale × mean, with the t-interval of the mean in the same units."""
    coded = Moments(n, total, sumsq)
    margin = t_margin(coded, LEVEL)
    value = _ratio(total, n, scale)
    return {"value": value, **_around(value, None if margin is None else scale * margin, low, high)}


def ces_block(n: int, total: float, sumsq: float, easy: int, min_n: int) -> Block:
    return {
        "value": None,  # placeholder keeps CesScore's field order: value first
        "n": n,
        **_mean_block(n, total, sumsq, 1.0, 1.0, 7.0),
        "share_easy": _ratio(easy, n),
        "low_confidence": n < min_n,
    }


def stars_block(n: int, total: float, sumsq: float, min_n: int) -> Block:
    return {
        "value": None,
        "n": n,
        **_mean_block(n, total, sumsq, 1.0, 1.0, 5.0),
        "low_confidence": n < min_n,
    }


def sentiment_block(n: int, total: float, sumsq: float, negative: int, min_n: int) -> Block:
    return {
        "value": None,
        "n": n,
        **_mean_block(n, total, sumsq, 100.0, -100.0, 100.0),
        "negative_share": _ratio(negative, n),
        "low_confidence": n < min_n,
    }


def nps_score(n: int, promoters: int, passives: int, detractors: int, *, min_n: int) -> NpsScore:
    return NpsScore(**nps_block(n, promoters, passives, detractors, min_n))


def csat_score(n: int, total: float, satisfied: int, *, min_n: int) -> CsatScore:
    return CsatScore(**csat_block(n, total, satisfied, min_n))


def ces_score(n: int, total: float, sumsq: float, easy: int, *, min_n: int) -> CesScore:
    return CesScore(**ces_block(n, total, sumsq, easy, min_n))


def stars_score(n: int, total: float, sumsq: float, *, min_n: int) -> StarsScore:
    return StarsScore(**stars_block(n, total, sumsq, min_n))


def sentiment_score(
    n: int, total: float, sumsq: float, negative: int, *, min_n: int
) -> SentimentScore:
    return SentimentScore(**sentiment_block(n, total, sumsq, negative, min_n))


def score_blocks(parts: Row, min_n: int) -> dict[str, Any]:
    """The metric blocks of one item as plain values, keyed and ordered as _Scores serialises
    them (n, nps, csat, ces, stars, sentiment, enps, low_confidence); counts as ints."""
    n = int(parts["n"])
    return {
        "n": n,
        "nps": nps_block(
            int(parts["nps_n"]),
            int(parts["nps_promoters"]),
            int(parts["nps_passives"]),
            int(parts["nps_detractors"]),
            min_n,
        ),
        "csat": csat_block(
            int(parts["csat_n"]), parts["csat_sum"], int(parts["csat_satisfied"]), min_n
        ),
        "ces": ces_block(
            int(parts["ces_n"]), parts["ces_sum"], parts["ces_sumsq"], int(parts["ces_easy"]), min_n
        ),
        "stars": stars_block(
            int(parts["stars_n"]), parts["stars_sum"], parts["stars_sumsq"], min_n
        ),
        "sentiment": sentiment_block(
            int(parts["sentiment_n"]),
            parts["sentiment_sum"],
            parts["sentiment_sumsq"],
            int(parts["sentiment_negative"]),
            min_n,
        ),
        "enps": nps_block(
            int(parts["enps_n"]),
            int(parts["enps_promoters"]),
            int(parts["enps_passives"]),
            int(parts["enps_detractors"]),
            min_n,
        ),
        "low_confidence": n < min_n,
    }


def score_fields(parts: Row, min_n: int) -> dict[str, Any]:
    """The metric blocks of one item from its summed rollup parts (n and PART_KEYS)."""
    n = int(parts["n"])

    def nps(prefix: str) -> NpsScore:
        return nps_score(
            parts[f"{prefix}_n"],
            parts[f"{prefix}_promoters"],
            parts[f"{prefix}_passives"],
            parts[f"{prefix}_detractors"],
            min_n=min_n,
        )

    return {
        "n": n,
        "nps": nps("nps"),
        "csat": csat_score(
            parts["csat_n"], parts["csat_sum"], parts["csat_satisfied"], min_n=min_n
        ),
        "ces": ces_score(
            parts["ces_n"], parts["ces_sum"], parts["ces_sumsq"], parts["ces_easy"], min_n=min_n
        ),
        "stars": stars_score(
            parts["stars_n"], parts["stars_sum"], parts["stars_sumsq"], min_n=min_n
        ),
        "sentiment": sentiment_score(
            parts["sentiment_n"],
            parts["sentiment_sum"],
            parts["sentiment_sumsq"],
            parts["sentiment_negative"],
            min_n=min_n,
        ),
        "enps": nps("enps"),
        "low_confidence": n < min_n,
    }
