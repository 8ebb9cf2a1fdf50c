"""Period-over-period comparison: per metric, the two-sample test that fits how it is built.

NPS and eNPS: difference of two NPS, variance of each from the trinomial (z). CSAT: difference
of two proportions (z). CES, stars, sentiment: difference of two means (Welch's t, variances
from the sums of squares). See stats.py for the intervals and the tests themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from services.api.models import CompareQuery, Metric
from services.api.schemas import CompareItem, ComparePage, CompareSide
from services.api.scores import Row
from shared.stats import (
    Difference,
    Moments,
    nps_moments,
    share_moments,
    welch_difference,
    z_difference,
)

SIDES = ("current", "previous")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    test: str
    # value = scale x the mean of the coded answers; span = the widest possible difference.
    scale: float
    span: float
    moments: Callable[[Row, str], Moments]
    difference: Callable[[Moments, Moments, float], Difference]


def _nps(prefix: str) -> Callable[[Row, str], Moments]:
    return lambda row, side: nps_moments(
        row[f"{side}_{prefix}_n"], row[f"{side}_{prefix}_promoters"],
        row[f"{side}_{prefix}_detractors"],
    )  # fmt: skip


def _mean(prefix: str) -> Callable[[Row, str], Moments]:
    return lambda row, side: Moments(
        row[f"{side}_{prefix}_n"], row[f"{side}_{prefix}_sum"], row[f"{side}_{prefix}_sumsq"]
    )


def _csat(row: Row, side: str) -> Moments:
    return share_moments(row[f"{side}_csat_n"], row[f"{side}_csat_satisfied"])


METRICS: dict[Metric, MetricSpec] = {
    "nps": MetricSpec("two_sample_z", 100.0, 200.0, _nps("nps"), z_difference),
    "enps": MetricSpec("two_sample_z", 100.0, 200.0, _nps("enps"), z_difference),
    "csat": MetricSpec("two_proportion_z", 100.0, 100.0, _csat, z_difference),
    "ces": MetricSpec("welch_t", 1.0, 6.0, _mean("ces"), welch_difference),
    "stars": MetricSpec("welch_t", 1.0, 4.0, _mean("stars"), welch_difference),
    "sentiment": MetricSpec("welch_t", 100.0, 200.0, _mean("sentiment"), welch_difference),
}


def _side(m: Moments, scale: float, min_n: int) -> CompareSide:
    mean = m.mean
    return CompareSide(
        value=None if mean is None else scale * mean, n=m.n, low_confidence=m.n < min_n
    )


def compare_item(
    row: Row, metric: Metric, level: float, group_by: Sequence[str], min_n: int
) -> CompareItem:
    spec = METRICS[metric]
    current, previous = spec.moments(row, "current"), spec.moments(row, "previous")
    diff = spec.difference(current, previous, level).scaled(spec.scale)
    low = high = None
    if diff.ci is not None:
        low, high = (max(-spec.span, diff.ci[0]), min(spec.span, diff.ci[1]))
    return CompareItem(
        group={d: row[d] or None for d in group_by},
        current=_side(current, spec.scale, min_n),
        previous=_side(previous, spec.scale, min_n),
        difference=diff.value,
        ci_low=low,
        ci_high=high,
        statistic=diff.statistic,
        df=diff.df,
        p_value=diff.p_value,
        significant=diff.p_value is not None and diff.p_value < 1.0 - level,
        low_confidence=current.n < min_n or previous.n < min_n,
    )


def compare_page(rows: Iterable[Row], query: CompareQuery, min_n: int) -> ComparePage:
    return ComparePage(
        metric=query.metric,
        test=METRICS[query.metric].test,
        level=query.level,
        current_from=query.current.start,
        current_to=query.current.end,
        previous_from=query.previous.start,
        previous_to=query.previous.end,
        min_n=min_n,
        items=[compare_item(r, query.metric, query.level, query.group_by, min_n) for r in rows],
    )
