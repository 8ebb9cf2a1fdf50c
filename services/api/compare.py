"""Period-over-period comparison: per metric, the two-sample test that fits how it is built.

NPS and eNPS: difference of two NPS, variance of each from the trinomial (z). CSAT: difference
of two proportions (z). CES, stars, sentiment: difference of two means (Welch's t, variances
from the sums of squares). The table of tests is shared/metric_specs.py (the alert
evaluator and the drivers use it too); the tests themselves are in shared/stats.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from services.api.models import CompareQuery, Metric
from services.api.schemas import CompareItem, ComparePage, CompareSide
from services.api.scores import Row
from shared.metric_specs import METRICS
from shared.stats import Moments

SIDES = ("current", "previous")


def _side(m: Moments, scale: float, min_n: int) -> CompareSide:
    mean = m.mean
    return CompareSide(
        value=None if mean is None else scale * mean, n=m.n, low_confidence=m.n < min_n
    )


def compare_item(
    row: Row, metric: Metric, level: float, group_by: Sequence[str], min_n: int
) -> CompareItem:
    spec = METRICS[metric]
    current, previous = spec.moments(row, "current_"), spec.moments(row, "previous_")
    diff = spec.difference(current, previous, level).scaled(spec.scale)
    low = high = None
    if diff.ci is not None:
        low, high = spec.clip(diff.ci)
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
