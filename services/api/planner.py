"""Which stored rollup a score query reads: the covering source with the fewest dimensions.

score_rollups keys every rollup dimension, so it holds a row per combination of them each hour;
a slice (shared.tables.SLICES) keys only a few and holds far fewer rows for the same hours. A
query can read any source whose dimensions include every one it filters or groups by, plus
`audience` (NPS and eNPS are split by it). A topic slice counts a fact once per topic label, so
it answers exactly the queries about topic, and only a topic slice can answer those. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.tables import ROLLUP_DIMENSIONS, SLICE_DIMENSIONS, SLICES, TOPIC

AUDIENCE = "audience"


@dataclass(frozen=True, slots=True)
class Source:
    """A table to read scores from: score_slices rows of one slice, or score_rollups."""

    name: str
    dimensions: frozenset[str]
    # The score_slices.slice value; None for score_rollups.
    slice: str | None

    @property
    def has_topic(self) -> bool:
        return TOPIC in self.dimensions


ROLLUPS = Source("score_rollups", frozenset(ROLLUP_DIMENSIONS), None)
# Slices first, in their declared order, so a tie in size goes to the earlier one.
SOURCES = (*(Source(s.name, frozenset(s.dimensions), s.name) for s in SLICES), ROLLUPS)


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
