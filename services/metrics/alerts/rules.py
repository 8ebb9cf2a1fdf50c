"""What an evaluation decides, as pure functions: the windows, the figures, open/keep/resolve.

A drop is judged by a one-sided test ("is the window worse than the baseline?") with the
two-sample test that fits the metric, as /v1/scores/compare does two-sided: NPS with the
trinomial z, CSAT with the two-proportion z, CES, stars and sentiment with Welch's t. The
interval stored with an alert is the two-sided one at `level`, the same as compare shows.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.metric_specs import METRICS
from shared.stats import Difference, Moments

Parts = Mapping[str, float]


# The rollup parts any watched metric reads.
PART_KEYS = (
    "nps_n", "nps_promoters", "nps_detractors", "csat_n", "csat_satisfied",
    "ces_n", "ces_sum", "ces_sumsq", "stars_n", "stars_sum", "stars_sumsq",
    "sentiment_n", "sentiment_sum", "sentiment_sumsq",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Windows:
    """[baseline_start, window_start) is the baseline, [window_start, window_end) the window."""

    baseline_start: datetime
    window_start: datetime
    window_end: datetime


def windows(now: datetime, window: timedelta, baseline: timedelta) -> Windows:
    """The window ends with the current hour's bucket (included, however far it has filled)."""
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    end = hour + timedelta(hours=1)
    return Windows(end - window - baseline, end - window, end)


@dataclass(frozen=True, slots=True)
class Figures:
    """One evaluation of a metric at a touchpoint, in the metric's units (as the API's)."""

    window_value: float | None
    window_n: int
    baseline_value: float | None
    baseline_n: int
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    statistic: float | None
    # One-sided: the probability of a drop at least this large if nothing had changed.
    p_value: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def one_sided_p(diff: Difference) -> float | None:
    """P(a difference this low or lower | no change), from the two-sided p of `diff`."""
    if diff.p_value is None or diff.value is None:
        return None
    half = diff.p_value / 2.0
    return half if diff.value < 0 else 1.0 - half


def _value(m: Moments, scale: float) -> float | None:
    mean = m.mean
    return None if mean is None else scale * mean


def assess(metric: str, window: Parts, baseline: Parts, level: float) -> Figures:
    spec = METRICS[metric]
    current, previous = spec.moments(window), spec.moments(baseline)
    raw = spec.difference(current, previous, level)
    diff = raw.scaled(spec.scale)
    low = high = None
    if diff.ci is not None:
        low, high = spec.clip(diff.ci)
    return Figures(
        window_value=_value(current, spec.scale),
        window_n=current.n,
        baseline_value=_value(previous, spec.scale),
        baseline_n=previous.n,
        difference=diff.value,
        ci_low=low,
        ci_high=high,
        statistic=raw.statistic,
        p_value=one_sided_p(raw),
    )


class Action(enum.Enum):
    OPEN = "open"
    KEEP = "keep"  # an open alert stays open; its figures are refreshed
    RESOLVE = "resolve"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Thresholds:
    level: float
    stay_level: float
    min_n: int


def enough(figures: Figures, min_n: int) -> bool:
    return figures.window_n >= min_n and figures.baseline_n >= min_n


def dropped(figures: Figures, level: float) -> bool:
    """A drop significant at `level`, one-sided."""
    return (
        figures.difference is not None
        and figures.difference < 0
        and figures.p_value is not None
        and figures.p_value < 1.0 - level
    )


def decide(figures: Figures, is_open: bool, t: Thresholds) -> Action:
    """Open only on a significant drop with both windows at min_n or more. An open alert
    resolves only when the windows are large enough to judge and the drop is no longer
    significant at `stay_level`; too few answers never resolve it (no evidence either way)."""
    if not enough(figures, t.min_n):
        return Action.KEEP if is_open else Action.NONE
    if is_open:
        return Action.KEEP if dropped(figures, t.stay_level) else Action.RESOLVE
    return Action.OPEN if dropped(figures, t.level) else Action.NONE
