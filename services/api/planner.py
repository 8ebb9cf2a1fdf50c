"""Which stored rollup a score query reads: the covering source with the fewest dimensions.

score_rollups keys every rollup dimension, so it holds a row per combination of them each hour;
a slice (shared.tables.SLICES) keys only a few and holds far fewer rows for the same hours. A
query can read any source whose dimensions include every one it filters or groups by, plus
`audience` (NPS and eNPS are split by it). A topic slice counts a fact once per topic label, so
it answers exactly the queries about topic, and only a topic slice can answer those.

A chosen hourly slice gives way to its day-grain twin (`at_grain`) when every bucket the query
sums is a union of whole UTC days: the window starts and ends at UTC midnights, and the buckets
are the whole window or days, weeks or months of a zone whose offset is always zero. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from shared.tables import ROLLUP_DIMENSIONS, SLICE_DIMENSIONS, SLICES, TOPIC, Grain, hourly_twin

AUDIENCE = "audience"
DAY = timedelta(days=1)
# Granularities whose buckets are whole days in the query's zone.
DAY_MULTIPLES = frozenset({"day", "week", "month"})


@dataclass(frozen=True, slots=True)
class Source:
    """A table to read scores from: score_slices rows of one slice, or score_rollups."""

    name: str
    dimensions: frozenset[str]
    # The score_slices.slice value; None for score_rollups.
    slice: str | None
    grain: Grain = "hour"

    @property
    def has_topic(self) -> bool:
        return TOPIC in self.dimensions


ROLLUPS = Source("score_rollups", frozenset(ROLLUP_DIMENSIONS), None)
# Hourly slices first, in their declared order, so a tie in size goes to the earlier one.
SOURCES = (
    *(Source(s.name, frozenset(s.dimensions), s.name) for s in SLICES if s.grain == "hour"),
    ROLLUPS,
)
# The day twin of an hourly slice, by the hourly slice's name.
DAY_TWINS = {
    hourly_twin(s).name: Source(s.name, frozenset(s.dimensions), s.name, "day")
    for s in SLICES
    if s.grain == "day"
}


class Uncovered(ValueError):
    """No stored source holds this combination of dimensions."""


def _spelled(dims: Iterable[str]) -> str:
    """Dimensions in their storage order, so messages read the same whatever the input order."""
    wanted = set(dims)
    return ", ".join(d for d in SLICE_DIMENSIONS if d in wanted)


def topic_combinations() -> list[str]:
    """What topic can be grouped or filtered together with: one set per topic slice."""
    return [
        "{" + _spelled(source.dimensions - {TOPIC, AUDIENCE}) + "}"
        for source in SOURCES
        if source.has_topic and source.dimensions - {TOPIC, AUDIENCE}
    ]


def choose(dimensions: Iterable[str]) -> Source:
    """The covering source with the fewest dimensions; Uncovered when there is none."""
    needed = frozenset(dimensions) | {AUDIENCE}
    unknown = needed - set(SLICE_DIMENSIONS)
    if unknown:
        raise Uncovered(f"unknown dimension(s): {', '.join(sorted(unknown))}")
    topical = TOPIC in needed
    covering = [s for s in SOURCES if s.has_topic == topical and needed <= s.dimensions]
    if not covering:
        raise Uncovered(
            f"topic cannot be combined with {_spelled(needed - {TOPIC, AUDIENCE})}; together, "
            "the filters and group_by dimensions besides topic must all be in one of "
            + ", ".join(topic_combinations())
            + " (audience always works)"
        )
    # min() keeps the first of equals: the declared slice order breaks ties.
    return min(covering, key=lambda s: len(s.dimensions))


def _midnight(t: datetime) -> bool:
    return (t.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)) % DAY == timedelta(0)


# The years always_utc samples; a window outside them never reads a day slice in another zone.
SAMPLED = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2101, 1, 1, tzinfo=UTC))


@lru_cache(maxsize=64)
def always_utc(tz: str) -> bool:
    """Whether the IANA zone's offset is zero at every instant of 1970-2100:
    UTC, Etc/UTC, GMT, Etc/GMT+0, ... but not Europe/London (zero in winter only).

    zoneinfo lists no transitions, so the offset is sampled twice a month; no zone has ever had
    an offset change lasting less than that. Once per zone name, then cached."""
    if tz == "UTC":
        return True
    zone = ZoneInfo(tz)
    for year in range(SAMPLED[0].year, SAMPLED[1].year):
        for month in range(1, 13):
            for day in (1, 16):
                if datetime(year, month, day, tzinfo=zone).utcoffset() != timedelta(0):
                    return False
    return True


def whole_utc_days(start: datetime, end: datetime, granularity: str, tz: str) -> bool:
    """Whether every bucket of the window is a union of whole UTC days."""
    if not (_midnight(start) and _midnight(end)):
        return False
    if granularity == "total":
        return True
    sampled = tz == "UTC" or (SAMPLED[0] <= start and end <= SAMPLED[1])
    return granularity in DAY_MULTIPLES and sampled and always_utc(tz)


def at_grain(
    source: Source, start: datetime, end: datetime, granularity: str = "total", tz: str = "UTC"
) -> Source:
    """The day twin of `source` when the buckets are whole UTC days and it has one; else
    `source`. granularity "total" sums the whole window, whatever the zone."""
    twin = DAY_TWINS.get(source.name)
    if twin is None or not whole_utc_days(start, end, granularity, tz):
        return source
    return twin
