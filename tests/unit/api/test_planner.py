"""The query planner against every combination of dimensions a query can need."""

from __future__ import annotations

from itertools import combinations

import pytest

from services.api.planner import ROLLUPS, Uncovered, choose, topic_combinations
from shared.tables import ROLLUP_DIMENSIONS, SLICE_DIMENSIONS, SLICES, TOPIC

EVERY_COMBINATION = [
    frozenset(c)
    for k in range(len(SLICE_DIMENSIONS) + 1)
    for c in combinations(SLICE_DIMENSIONS, k)
]


def covering(dims: frozenset[str]) -> list[tuple[str, frozenset[str]]]:
    """Every stored source that can answer: same topic-ness, every needed dimension (+audience)."""
    needed = dims | {"audience"}
    sources = [(s.name, frozenset(s.dimensions)) for s in SLICES]
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
