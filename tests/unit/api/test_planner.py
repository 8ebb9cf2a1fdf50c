"""The query planner against every combination of dimensions a query can need."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo

import pytest

from services.api.planner import (
    DAY_TWINS,
    ROLLUPS,
    Part,
    Source,
    Uncovered,
    always_utc,
    choose,
    split,
    topic_combinations,
    whole_days,
)
from shared.tables import ROLLUP_DIMENSIONS, SLICE_DIMENSIONS, SLICES, TOPIC

EVERY_COMBINATION = [
    frozenset(c)
    for k in range(len(SLICE_DIMENSIONS) + 1)
    for c in combinations(SLICE_DIMENSIONS, k)
]


def covering(dims: frozenset[str]) -> list[tuple[str, frozenset[str]]]:
    """Every stored source that can answer: same topic-ness, every needed dimension (+audience)."""
    needed = dims | {"audience"}
    sources = [(s.name, frozenset(s.dimensions)) for s in SLICES if s.grain == "hour"]
    sources.append(("score_rollups", frozenset(ROLLUP_DIMENSIONS)))
    return [
        (name, have)
        for name, have in sources
        if (TOPIC in have) == (TOPIC in needed) and needed <= have
    ]


class TestChoose:
    @pytest.mark.parametrize("dims", EVERY_COMBINATION, ids=lambda d: ",".join(sorted(d)) or "-")
    def test_picks_a_smallest_covering_source_or_says_none_covers(
        self, dims: frozenset[str]
    ) -> None:
        options = covering(dims)
        if not options:
            assert TOPIC in dims  # without topic the rollups always cover
            with pytest.raises(Uncovered):
                choose(dims)
            return
        source = choose(dims)
        assert (source.name, source.dimensions) in options
        assert dims | {"audience"} <= source.dimensions
        assert len(source.dimensions) == min(len(have) for _, have in options)
        # Ties go to the first declared, so the choice never depends on set ordering.
        first = next(name for name, have in options if len(have) == len(source.dimensions))
        assert source.name == first

    def test_topic_slices_never_answer_a_query_without_topic(self) -> None:
        for dims in EVERY_COMBINATION:
            if TOPIC not in dims:
                assert not choose(dims).has_topic

    def test_only_topic_slices_answer_a_query_about_topic(self) -> None:
        assert choose({TOPIC}).name == "topic"
        assert choose({TOPIC, "touchpoint"}).name == "topic_touchpoint"
        assert choose({TOPIC, "journey_stage"}).name == "topic_touchpoint"
        assert choose({TOPIC, "channel", "audience"}).name == "topic_channel"

    @pytest.mark.parametrize(
        ("dims", "name"),
        [
            ((), "stage"),
            (("touchpoint",), "touchpoint"),
            (("journey_stage",), "stage"),
            (("channel",), "channel"),
            (("touchpoint", "channel"), "touchpoint_channel"),
            (("survey_type",), "touchpoint_survey"),
            (("source_kind", "touchpoint"), "touchpoint_survey"),
            (("segment",), "score_rollups"),
            (("language", "touchpoint"), "score_rollups"),
            (("channel", "survey_type"), "score_rollups"),
        ],
    )
    def test_known_choices(self, dims: tuple[str, ...], name: str) -> None:
        assert choose(dims).name == name

    def test_rollups_hold_every_dimension_but_topic(self) -> None:
        assert ROLLUPS.dimensions == frozenset(SLICE_DIMENSIONS) - {TOPIC}
        assert ROLLUPS.slice is None

    def test_an_uncovered_combination_names_it_and_the_supported_ones(self) -> None:
        with pytest.raises(Uncovered) as caught:
            choose({TOPIC, "segment", "touchpoint"})
        message = str(caught.value)
        assert "topic cannot be combined with touchpoint, segment" in message
        assert "{touchpoint, journey_stage}" in message and "{channel}" in message
        assert topic_combinations() == ["{touchpoint, journey_stage}", "{channel}"]

    def test_an_unknown_dimension_is_refused(self) -> None:
        with pytest.raises(Uncovered, match="feedback_id"):
            choose({"feedback_id"})


JAN = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def at_grain(
    source: Source, start: datetime, end: datetime, granularity: str = "total", tz: str = "UTC"
) -> Source:
    """The one source a window reads; fails when the planner splits it."""
    [part] = split(source, start, end, granularity, tz)
    assert (part.start, part.end) == (start, end)
    return part.source


def hours(start: datetime, end: datetime) -> list[datetime]:
    """Every hourly bucket_start in [start, end): what the hourly slice alone would read."""
    first = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first += HOUR if first < start else timedelta(0)
    out = []
    while first < end:
        out.append(first)
        first += HOUR
    return out


def covered_hours(parts: tuple[Part, ...]) -> list[datetime]:
    """The hourly buckets the parts stand for: a day twin's row for the 24 hours of its day."""
    for part in parts:
        if part.source.grain == "day":
            assert part.start.astimezone(UTC).hour == 0 and part.start.minute == 0
            assert (part.end - part.start) % DAY == timedelta(0)
    return [hour for part in parts for hour in hours(part.start, part.end)]


class TestAtGrain:
    def test_every_day_slice_is_the_twin_of_the_hourly_slice_with_its_dimensions(self) -> None:
        days = {s.name: s for s in SLICES if s.grain == "day"}
        assert {t.name for t in DAY_TWINS.values()} == set(days)
        for hourly, twin in DAY_TWINS.items():
            assert choose(twin.dimensions - {"audience"}).name == hourly
            assert twin.grain == "day" and twin.slice == twin.name

    @pytest.mark.parametrize("granularity", ["day", "week", "month", "total"])
    @pytest.mark.parametrize("tz", ["UTC", "Etc/UTC", "GMT", "Etc/GMT+0", "Zulu"])
    def test_whole_utc_days_read_the_day_twin(self, granularity: str, tz: str) -> None:
        source = choose(("touchpoint",))
        assert at_grain(source, JAN, YEAR_END, granularity, tz).name == "touchpoint_day"

    def test_hourly_buckets_read_the_hourly_slice(self) -> None:
        source = choose(("touchpoint",))
        assert at_grain(source, JAN, YEAR_END, "hour", "UTC") is source
        assert at_grain(source, JAN + HOUR, YEAR_END - HOUR, "hour", "UTC") is source

    def test_an_instant_written_with_another_offset_but_at_utc_midnight_is_aligned(self) -> None:
        start = datetime(2025, 1, 1, 1, tzinfo=ZoneInfo("Europe/Berlin"))
        assert at_grain(choose(("channel",)), start, YEAR_END, "day").name == "channel_day"

    @pytest.mark.parametrize("tz", ["Europe/London", "Europe/Lisbon", "Africa/Casablanca",
                                    "Etc/GMT-1", "America/New_York"])  # fmt: skip
    def test_local_days_of_a_zone_that_ever_leaves_utc_read_the_hourly_slice(self, tz: str) -> None:
        source = choose(("touchpoint",))
        assert not always_utc(tz)
        assert at_grain(source, JAN, YEAR_END, "day", tz) is source
        assert at_grain(source, JAN + HOUR, YEAR_END, "week", tz) is source
        # A total sums the whole window, whatever the zone writes its bounds in.
        assert at_grain(source, JAN, YEAR_END, "total", tz).name == "touchpoint_day"

    @pytest.mark.parametrize(
        ("dimensions", "twin"), [((), "stage_day"), (("journey_stage",), "stage_day"),
                                 (("topic",), "topic_day"), (("topic", "audience"), "topic_day")],
    )  # fmt: skip
    def test_unfiltered_and_per_topic_days_read_the_stage_and_topic_twins(
        self, dimensions: tuple[str, ...], twin: str
    ) -> None:
        source = choose(dimensions)
        assert at_grain(source, JAN, YEAR_END, "day", "UTC").name == twin
        assert [p.source.name for p in split(source, JAN + HOUR, YEAR_END)] == [
            source.name, twin,
        ]  # fmt: skip

    def test_sources_without_a_twin_stay(self) -> None:
        no_twin = (ROLLUPS, choose(("touchpoint", "channel")), choose(("topic", "channel")))
        for source in no_twin:
            assert source.name not in DAY_TWINS
            assert at_grain(source, JAN, YEAR_END, "day") is source
            assert at_grain(source, JAN + HOUR, YEAR_END - HOUR, "total") is source

    def test_a_window_outside_the_sampled_years_trusts_only_utc_itself(self) -> None:
        old = datetime(1960, 1, 1, tzinfo=UTC)
        source = choose(("touchpoint",))
        assert at_grain(source, old, JAN, "day", "Atlantic/Reykjavik") is source
        assert at_grain(source, old, JAN, "day", "UTC").name == "touchpoint_day"
        assert always_utc("Atlantic/Reykjavik")  # zero since 1968


class TestSplit:
    """Whole UTC days from the day twin, the edge hours from the hourly slice."""

    source = choose(("touchpoint",))
    twin = DAY_TWINS["touchpoint"]

    def test_both_edges_off_midnight(self) -> None:
        start, end = JAN + 5 * HOUR, JAN + 30 * DAY + 7 * HOUR
        assert split(self.source, start, end) == (
            Part(self.source, start, JAN + DAY),
            Part(self.twin, JAN + DAY, JAN + 30 * DAY),
            Part(self.source, JAN + 30 * DAY, end),
        )

    def test_a_start_at_midnight_has_no_leading_edge(self) -> None:
        end = JAN + 7 * DAY + 13 * HOUR
        assert split(self.source, JAN, end, "day") == (
            Part(self.twin, JAN, JAN + 7 * DAY),
            Part(self.source, JAN + 7 * DAY, end),
        )

    def test_an_end_at_midnight_has_no_trailing_edge(self) -> None:
        start = JAN + 23 * HOUR
        assert split(self.source, start, JAN + 3 * DAY, "week") == (
            Part(self.source, start, JAN + DAY),
            Part(self.twin, JAN + DAY, JAN + 3 * DAY),
        )

    def test_exactly_one_whole_day_between_the_edges(self) -> None:
        start, end = JAN + 12 * HOUR, JAN + 2 * DAY + 12 * HOUR
        assert [p.source for p in split(self.source, start, end)] == [
            self.source, self.twin, self.source
        ]  # fmt: skip

    @pytest.mark.parametrize(
        ("start", "end"),
        [
            (JAN + HOUR, JAN + 23 * HOUR),  # under a day, inside one
            (JAN + 12 * HOUR, JAN + DAY + 12 * HOUR),  # a day long, across a midnight
            (JAN + HOUR, JAN + 2 * DAY - HOUR),  # almost two days, no whole one
            (JAN, JAN + 23 * HOUR),  # from a midnight, shorter than a day
            (JAN + HOUR, JAN + DAY),  # to a midnight, shorter than a day
        ],
    )
    def test_a_window_holding_no_whole_utc_day_reads_only_hours(
        self, start: datetime, end: datetime
    ) -> None:
        assert whole_days(start, end) is None
        assert split(self.source, start, end) == (Part(self.source, start, end),)

    def test_off_hour_and_sub_second_bounds_keep_the_hourly_rows_they_would_read(self) -> None:
        start = JAN + 2 * HOUR + timedelta(minutes=30)
        end = JAN + 4 * DAY + timedelta(microseconds=1)
        parts = split(self.source, start, end)
        assert parts[0] == Part(self.source, start, JAN + DAY)
        assert parts[-1] == Part(self.source, JAN + 4 * DAY, end)
        assert covered_hours(parts) == hours(start, end)

    def test_bounds_written_in_another_zone_split_at_utc_midnights(self) -> None:
        berlin = ZoneInfo("Europe/Berlin")
        start = datetime(2025, 3, 29, 12, tzinfo=berlin)  # 11:00 UTC, the eve of a DST change
        end = datetime(2025, 4, 2, 0, tzinfo=berlin)  # 22:00 UTC on April 1
        parts = split(self.source, start, end, "day", "UTC")
        assert [(p.start, p.end) for p in parts[1:2]] == [
            (datetime(2025, 3, 30, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
        ]
        assert covered_hours(parts) == hours(start, end)

    @pytest.mark.parametrize("granularity", ["day", "week", "month"])
    def test_day_multiples_split_only_in_a_zone_that_is_always_utc(self, granularity: str) -> None:
        start, end = JAN + 5 * HOUR, JAN + 40 * DAY + 5 * HOUR
        assert len(split(self.source, start, end, granularity, "Etc/UTC")) == 3
        assert len(split(self.source, start, end, granularity, "Europe/Stockholm")) == 1
        assert len(split(self.source, start, end, "hour", "UTC")) == 1

    def test_random_windows_stand_for_exactly_the_hours_the_hourly_slice_reads(self) -> None:
        rng = random.Random(11)
        split_windows = 0
        for _ in range(500):
            start = JAN + timedelta(minutes=rng.randrange(0, 20 * 24 * 60, 30))
            end = start + timedelta(minutes=rng.randrange(1, 6 * 24 * 60, 15))
            parts = split(self.source, start, end)
            assert covered_hours(parts) == hours(start, end), (start, end)
            assert all(p.start < p.end for p in parts)
            assert [p.start for p in parts[1:]] == [p.end for p in parts[:-1]]  # contiguous
            split_windows += len(parts) > 1
        assert split_windows > 150
