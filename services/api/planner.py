"""Which stored rollup a score query reads: the covering source with the fewest dimensions.

score_rollups keys every rollup dimension, so it holds a row per combination of them each hour;
a slice (shared.tables.SLICES) keys only a few and holds far fewer rows for the same hours. A
query can read any source whose dimensions include every one it filters or groups by, plus
`audience` (NPS and eNPS are split by it). A topic slice counts a fact once per topic label, so
it answers exactly the queries about topic, and only a topic slice can answer those.

A chosen hourly slice with a day-grain twin is read in parts (`split`) when every bucket the
query sums is a union of UTC hours that never splits a UTC day across buckets: the whole window
(granularity total), or days, weeks or months of a zone whose offset is always zero. The whole
UTC days inside [from, to) come from the day twin (24x fewer rows), the edge hours before the
first midnight and from the last midnight on from the hourly slice; an hour-aligned window reads
the same rows either way, so the sums equal the hourly answer. Pure.
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


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _midnight(t: datetime) -> bool:
    return (t.astimezone(UTC) - EPOCH) % DAY == timedelta(0)


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


def day_buckets(start: datetime, end: datetime, granularity: str, tz: str) -> bool:
    """Whether each bucket of the query is a union of whole UTC days, edges aside: a UTC day
    of the window never straddles two buckets, so its row may stand for its 24 hours."""
    if granularity == "total":
        return True
    sampled = tz == "UTC" or (SAMPLED[0] <= start and end <= SAMPLED[1])
    return granularity in DAY_MULTIPLES and sampled and always_utc(tz)


def _floor_day(t: datetime) -> datetime:
    utc = t.astimezone(UTC)
    return utc - (utc - EPOCH) % DAY


def whole_days(start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
    """The first and last UTC midnight of [start, end) when at least one whole UTC day lies
    between them; None for a window shorter than a day or holding no whole day."""
    first = start.astimezone(UTC) if _midnight(start) else _floor_day(start) + DAY
    last = _floor_day(end)
    return (first, last) if first < last else None


@dataclass(frozen=True, slots=True)
class Part:
    """The rows of `source` whose bucket_start lies in [start, end)."""

    source: Source
    start: datetime
    end: datetime


def split(
    source: Source, start: datetime, end: datetime, granularity: str = "total", tz: str = "UTC"
) -> tuple[Part, ...]:
    """The parts a query's rows are read from, in time order: the day twin of `source` for the
    whole UTC days of the window and `source` for the edge hours, where the buckets allow and
    `source` has a twin; else `source` for the whole window. Empty edges are left out."""
    twin = DAY_TWINS.get(source.name)
    days = whole_days(start, end) if twin is not None else None
    if twin is None or days is None or not day_buckets(start, end, granularity, tz):
        return (Part(source, start, end),)
    first, last = days
    parts = (Part(source, start, first), Part(twin, first, last), Part(source, last, end))
    return tuple(p for p in parts if p.start < p.end)
