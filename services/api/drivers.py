"""Topic drivers: a metric among feedback with each topic vs without it, and the topic's impact.

"With" comes from a topic slice (a fact adds to the row of each of its topics), "all" from a
slice without topic (each fact once), and "without" = all − with: the parts are additive, so a
fact with k topics is "with" for each of them and "without" for every other topic. The two
samples are disjoint, so compare.py's two-sample machinery applies as it is.

impact = metric_share × (without − with), metric_share = the topic's share of the metric's
answers. The overall value is metric_share × with + (1 − metric_share) × without, so impact is
exactly how far it would move if the topic's answers scored like the rest. Pure.

The metric, its n and metric_share are over customer answers only (statements.measures leaves
employee-audience rows out of every customer metric); an item's n and share, and the page's n,
count feedback items of every audience, as /v1/scores' item n does.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.api.driver_schemas import DriverItem, DriverSide, DriversPage
from services.api.models import DriverMetric, DriversQuery
from services.api.scores import PART_KEYS, Row
from shared.distributions import normal_critical
from shared.metric_specs import METRICS, MetricSpec
from shared.stats import Moments, t_margin, wilson

# The metric's scale (the range of its value), to clip intervals to.
_RANGE: dict[DriverMetric, tuple[float, float]] = {
    "nps": (-100.0, 100.0),
    "csat": (0.0, 100.0),
    "ces": (1.0, 7.0),
    "stars": (1.0, 5.0),
    "sentiment": (-100.0, 100.0),
}
NO_TOPIC = ""


def _margin(metric: DriverMetric, m: Moments, level: float) -> tuple[float, float] | None:
    """The value's interval in coded units (before scaling), as /v1/scores builds it."""
    mean = m.mean
    if mean is None:
        return None
    if metric == "csat":
        return wilson(round(m.total), m.n, normal_critical(level))
    if metric == "nps":
        variance = m.population_variance
        if variance is None:
            return None
        half = normal_critical(level) * (variance / m.n) ** 0.5
    else:
        t_half = t_margin(m, level)
        if t_half is None:
            return None
        half = t_half
    return mean - half, mean + half


def side(metric: DriverMetric, m: Moments, level: float, min_n: int) -> DriverSide:
    spec = METRICS[metric]
    low, high = _RANGE[metric]
    mean, interval = m.mean, _margin(metric, m, level)
    ci: tuple[float | None, float | None] = (None, None)
    if interval is not None:
        ci = (max(low, spec.scale * interval[0]), min(high, spec.scale * interval[1]))
    return DriverSide(
        value=None if mean is None else spec.scale * mean,
        n=m.n,
        ci_low=ci[0],
        ci_high=ci[1],
        low_confidence=m.n < min_n,
    )


def _sides(topic_row: Row, overall: Row) -> dict[str, float]:
    """One row in compare.py's shape: `with_<part>` and `without_<part>` (= all − with)."""
    row: dict[str, float] = {}
    for key in PART_KEYS:
        row[f"with_{key}"] = topic_row[key]
        row[f"without_{key}"] = overall[key] - topic_row[key]
    return row


def driver_item(
    topic_row: Row, overall: Row, spec: MetricSpec, query: DriversQuery, min_n: int
) -> DriverItem:
    row = _sides(topic_row, overall)
    with_m, without_m = spec.moments(row, "with_"), spec.moments(row, "without_")
    all_n = spec.moments(overall).n
    diff = spec.difference(with_m, without_m, query.level).scaled(spec.scale)
    ci_low = ci_high = None
    if diff.ci is not None:
        ci_low, ci_high = spec.clip(diff.ci)
    metric_share = with_m.n / all_n if all_n else None
    impact = impact_low = impact_high = None
    if diff.value is not None and metric_share is not None:
        impact = -metric_share * diff.value
        if ci_low is not None and ci_high is not None:
            impact_low, impact_high = -metric_share * ci_high, -metric_share * ci_low
    n, total = int(topic_row["n"]), int(overall["n"])
    return DriverItem(
        topic=topic_row["topic"],
        n=n,
        share=n / total if total else None,
        metric_share=metric_share,
        with_topic=side(query.metric, with_m, query.level, min_n),
        without_topic=side(query.metric, without_m, query.level, min_n),
        difference=diff.value,
        ci_low=ci_low,
        ci_high=ci_high,
        statistic=diff.statistic,
        df=diff.df,
        p_value=diff.p_value,
        significant=diff.p_value is not None and diff.p_value < 1.0 - query.level,
        impact=impact,
        impact_ci_low=impact_low,
        impact_ci_high=impact_high,
        low_confidence=with_m.n < min_n or without_m.n < min_n,
    )


def drivers_page(
    topic_rows: Iterable[Row], overall: Row, query: DriversQuery, min_n: int
) -> DriversPage:
    spec = METRICS[query.metric]
    items = [
        driver_item(row, overall, spec, query, min_n)
        for row in topic_rows
        if row["topic"] != NO_TOPIC
    ]
    items.sort(key=lambda i: (i.impact is None, -(i.impact or 0.0), i.topic))
    return DriversPage(
        metric=query.metric,
        test=spec.test,
        level=query.level,
        from_=query.window.start,
        to=query.window.end,
        filters=dict(query.filters),
        min_n=min_n,
        n=int(overall["n"]),
        overall=side(query.metric, spec.moments(overall), query.level, min_n),
        items=items,
    )
