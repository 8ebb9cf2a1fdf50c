"""What one fact adds to the rollups and slices: its row keys and additive parts (DESIGN.md
"Scores").

Computed from the fact row alone, so the contribution of a stored fact can be taken back out
exactly as it was put in. A fact adds the same parts to one score_rollups row and to one row of
each slice (k rows of a topic slice when it has k distinct topic labels); a day-grain slice's
row is keyed by the UTC day the fact's hour falls in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.tables import ROLLUP_DIMENSIONS, ROLLUP_MEASURES, SLICE_DIMENSIONS, SLICES, TOPIC

# (bucket_start, *ROLLUP_DIMENSIONS): the primary key of one score_rollups row.
RollupKey = tuple[datetime, ...]
# (slice, *SLICE_DIMENSIONS, bucket_start): the primary key of one score_slices row.
SliceKey = tuple[Any, ...]
Parts = dict[str, float]
NO_TOPIC = ""


@dataclass(frozen=True, slots=True)
class Contribution:
    key: RollupKey
    parts: Parts = field(default_factory=dict)
    slices: tuple[SliceKey, ...] = ()


def rollup_key(fact: Mapping[str, Any]) -> RollupKey:
    return (fact["bucket_start"], *(fact[d] or "" for d in ROLLUP_DIMENSIONS))


def slice_topics(fact: Mapping[str, Any]) -> tuple[str, ...]:
    """The distinct topic labels a topic slice counts the fact under; ('',) for none.

    Stored topics are objects with a string "label" (models.fact_from_event); anything else in
    the list is ignored, as rebuild.py's SQL ignores it."""
    labels = (t.get("label") for t in fact["topics"] or () if isinstance(t, dict))
    distinct = tuple(dict.fromkeys(label for label in labels if isinstance(label, str)))
    return distinct or (NO_TOPIC,)


def utc_day(bucket: datetime) -> datetime:
    """The UTC midnight starting the day of `bucket` (an aware instant), as an aware UTC instant."""
    return bucket.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def slice_keys(fact: Mapping[str, Any]) -> tuple[SliceKey, ...]:
    """One key per slice (per distinct topic for a topic slice), in SLICES order."""
    hour = fact["bucket_start"]
    buckets = {"hour": hour, "day": utc_day(hour)}
    values = {d: fact[d] or "" for d in ROLLUP_DIMENSIONS}
    topics = slice_topics(fact)
    keys: list[SliceKey] = []
    for s in SLICES:
        for topic in topics if s.has_topic else (NO_TOPIC,):
            values[TOPIC] = topic
            dims = tuple(values[d] if d in s.dimensions else "" for d in SLICE_DIMENSIONS)
            keys.append((s.name, *dims, buckets[s.grain]))
    return tuple(keys)


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
    return Contribution(rollup_key(fact), parts(fact), slice_keys(fact))


def zero_parts() -> Parts:
    return dict.fromkeys(ROLLUP_MEASURES, 0)


@dataclass(slots=True)
class Deltas:
    """Signed sums of contributions, per rollup row and per slice row."""

    rollups: dict[RollupKey, Parts] = field(default_factory=dict)
    slices: dict[SliceKey, Parts] = field(default_factory=dict)

    def add(self, item: Contribution | None, sign: int) -> None:
        if item is None:
            return
        _add(self.rollups, item.key, item.parts, sign)
        for key in item.slices:
            _add(self.slices, key, item.parts, sign)

    def nonzero(self) -> Deltas:
        """Rows in key order (the lock order of every writer), zero measures and rows dropped:
        a change nothing a score sees must not touch (and lock) a row."""
        return Deltas(_nonzero(self.rollups), _nonzero(self.slices))


def _add(rows: dict[Any, Parts], key: Any, parts: Parts, sign: int) -> None:
    row = rows.setdefault(key, {})
    for measure, value in parts.items():
        row[measure] = row.get(measure, 0) + sign * value


def _nonzero(rows: dict[Any, Parts]) -> dict[Any, Parts]:
    out = {}
    for key in sorted(rows):
        row = {m: v for m, v in rows[key].items() if v != 0}
        if row:
            out[key] = row
    return out
