"""Each score's two-sample test, read from summed rollup parts: one table for every service.

/v1/scores/compare, /v1/drivers and the alert evaluator all compare a metric between two groups
of answers. NPS and eNPS: difference of two NPS with each side's trinomial variance (z). CSAT:
difference of two proportions (z). CES, stars, sentiment: difference of two means (Welch's t,
variances from the sums of squares). The tests themselves are in shared/stats.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from shared.stats import (
    Difference,
    Moments,
    nps_moments,
    share_moments,
    welch_difference,
    z_difference,
)

Kind = Literal["nps", "share", "mean"]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    test: str
    # value = scale x the mean of the coded answers; span = the widest possible difference.
    scale: float
    span: float
    part: str  # the rollup parts' prefix: nps_n, nps_promoters, ... or ces_n, ces_sum, ...
    kind: Kind

    @property
    def difference(self) -> Callable[[Moments, Moments, float], Difference]:
        return welch_difference if self.kind == "mean" else z_difference

    def moments(self, parts: Mapping[str, Any], prefix: str = "") -> Moments:
        """The coded answers' moments from summed parts labelled `prefix + part + _<name>`;
        a missing part counts as 0."""

        def get(name: str) -> Any:
            return parts.get(f"{prefix}{self.part}_{name}", 0)

        if self.kind == "nps":
            return nps_moments(int(get("n")), int(get("promoters")), int(get("detractors")))
        if self.kind == "share":
            return share_moments(int(get("n")), int(get("satisfied")))
        return Moments(int(get("n")), get("sum"), get("sumsq"))

    def clip(self, ci: tuple[float, float]) -> tuple[float, float]:
        """An interval of a difference, clipped to the widest difference the scale allows."""
        return max(-self.span, ci[0]), min(self.span, ci[1])


METRICS: dict[str, MetricSpec] = {
    "nps": MetricSpec("two_sample_z", 100.0, 200.0, "nps", "nps"),
    "enps": MetricSpec("two_sample_z", 100.0, 200.0, "enps", "nps"),
    "csat": MetricSpec("two_proportion_z", 100.0, 100.0, "csat", "share"),
    "ces": MetricSpec("welch_t", 1.0, 6.0, "ces", "mean"),
    "stars": MetricSpec("welch_t", 1.0, 4.0, "stars", "mean"),
    "sentiment": MetricSpec("welch_t", 100.0, 200.0, "sentiment", "mean"),
}
