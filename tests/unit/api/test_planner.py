"""The query planner against every combination of dimensions a query can need."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo

import pytest

from services.api.planner import (
    DAY_TWINS,
    ROLLUPS,
    Uncovered,
    always_utc,
    at_grain,
    choose,
    topic_combinations,
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

    @pytest.mark.parametrize(
        ("start", "end"),
        [
            (JAN + timedelta(hours=1), YEAR_END),
            (JAN, YEAR_END - timedelta(minutes=1)),
            (JAN, YEAR_END + timedelta(microseconds=1)),
            # Midnight in Berlin is 23:00 UTC: not a UTC day's start.
            (datetime(2025, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")), YEAR_END),
        ],
    )
    @pytest.mark.parametrize("granularity", ["day", "total"])
    def test_a_window_not_at_utc_midnights_reads_the_hourly_slice(
        self, start: datetime, end: datetime, granularity: str
    ) -> None:
        source = choose(("channel",))
        assert at_grain(source, start, end, granularity, "UTC") is source

    def test_an_instant_written_with_another_offset_but_at_utc_midnight_is_aligned(self) -> None:
        start = datetime(2025, 1, 1, 1, tzinfo=ZoneInfo("Europe/Berlin"))
        assert at_grain(choose(("channel",)), start, YEAR_END, "day").name == "channel_day"

    @pytest.mark.parametrize("tz", ["Europe/London", "Europe/Lisbon", "Africa/Casablanca",
                                    "Etc/GMT-1", "America/New_York"])  # fmt: skip
    def test_local_days_of_a_zone_that_ever_leaves_utc_read_the_hourly_slice(self, tz: str) -> None:
        source = choose(("touchpoint",))
        assert not always_utc(tz)
        assert at_grain(source, JAN, YEAR_END, "day", tz) is source
        # A total sums the whole window, whatever the zone writes its bounds in.
        assert at_grain(source, JAN, YEAR_END, "total", tz).name == "touchpoint_day"

    def test_sources_without_a_twin_stay(self) -> None:
        for source in (ROLLUPS, choose(("journey_stage",)), choose(("topic", "channel"))):
            assert source.name not in DAY_TWINS
            assert at_grain(source, JAN, YEAR_END, "day") is source

    def test_a_window_outside_the_sampled_years_trusts_only_utc_itself(self) -> None:
        old = datetime(1960, 1, 1, tzinfo=UTC)
        source = choose(("touchpoint",))
        assert at_grain(source, old, JAN, "day", "Atlantic/Reykjavik") is source
        assert at_grain(source, old, JAN, "day", "UTC").name == "touchpoint_day"
        assert always_utc("Atlantic/Reykjavik")  # zero since 1968
