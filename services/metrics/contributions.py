"""What one fact adds to the rollups: its row key and additive parts (DESIGN.md "Scores").

Computed from the fact row alone, so the contribution of a stored fact can be taken back out
exactly as it was put in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.tables import ROLLUP_DIMENSIONS, ROLLUP_MEASURES

# (bucket_start, *ROLLUP_DIMENSIONS): the primary key of one score_rollups row.
RollupKey = tuple[datetime, ...]
Parts = dict[str, float]


@dataclass(frozen=True, slots=True)
class Contribution:
    key: RollupKey
    parts: Parts = field(default_factory=dict)


def rollup_key(fact: Mapping[str, Any]) -> RollupKey:
    return (fact["bucket_start"], *(fact[d] or "" for d in ROLLUP_DIMENSIONS))


def parts(fact: Mapping[str, Any]) -> Parts:
    """Additive parts of a live fact; measures it does not touch are left out."""
    out: Parts = {"n": 1}
    nps = fact["nps"]
    if nps is not None:
        bucket = "promoters" if nps >= 9 else "passives" if nps >= 7 else "detractors"
        out.update({"nps_n": 1, f"nps_{bucket}": 1})
    csat = fact["csat"]
    if csat is not None:
        out.update({"csat_n": 1, "csat_sum": csat, "csat_satisfied": int(csat >= 4)})
    ces = fact["ces"]
    if ces is not None:
        out.update({"ces_n": 1, "ces_sum": ces, "ces_sumsq": ces * ces, "ces_easy": int(ces >= 5)})
    stars = fact["stars"]
    if stars is not None:
        out.update({"stars_n": 1, "stars_sum": stars, "stars_sumsq": stars * stars})
    score = fact["sentiment_score"]
    if score is not None and not fact["unscored"]:
        out.update(
            {
                "sentiment_n": 1,
                "sentiment_sum": score,
                "sentiment_sumsq": score * score,
                "sentiment_negative": int(fact["sentiment_label"] == "negative"),
            }
        )
    return {m: v for m, v in out.items() if v}


def contribution(fact: Mapping[str, Any] | None) -> Contribution | None:
    """The fact's contribution, or None for no fact or a tombstone (deleted)."""
    if fact is None or fact["deleted"]:
        return None
    return Contribution(rollup_key(fact), parts(fact))


def zero_parts() -> Parts:
    return dict.fromkeys(ROLLUP_MEASURES, 0)
