"""Query parsing and the opaque cursors of the api."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.api.models import (
    Cursor,
    ScoreKey,
    ScoreQuery,
    decode_cursor,
    decode_score_cursor,
    encode_cursor,
    encode_score_cursor,
    parse_group_by,
)

T0 = datetime(2024, 5, 1, tzinfo=UTC)


class TestParseGroupBy:
    def test_known_dimensions_keep_their_order_without_duplicates(self) -> None:
        assert parse_group_by("channel, touchpoint,channel,") == ("channel", "touchpoint")

    def test_nothing_means_no_grouping(self) -> None:
        assert parse_group_by(None) == ()

    def test_topic_is_a_dimension_to_group_by(self) -> None:
        assert parse_group_by("touchpoint,topic") == ("touchpoint", "topic")

    def test_unknown_dimension_is_named_in_the_error(self) -> None:
        with pytest.raises(ValueError, match="'feedback_id'"):
            parse_group_by("touchpoint,feedback_id")


class TestCursor:
    def test_round_trip_keeps_the_exact_sort_key(self) -> None:
        cursor = Cursor(datetime(2024, 5, 1, 12, 30, 1, 123456, tzinfo=UTC), uuid4())
        assert decode_cursor(encode_cursor(cursor)) == cursor

    @pytest.mark.parametrize(
        "token", ["", "!!!", "bm90IGpzb24", "WzFd", "WyJ4IiwgInkiXQ", "WyIyMDI0LTAxLTAxIiwiMSJd"]
    )
    def test_malformed_tokens_are_rejected(self, token: str) -> None:
        with pytest.raises(ValueError, match="cursor"):
            decode_cursor(token)


class TestMostNegativeCursor:
    def test_round_trip_keeps_the_score_and_the_exact_sort_key(self) -> None:
        cursor = Cursor(datetime(2024, 5, 1, 9, 0, 0, 7, tzinfo=UTC), uuid4(), -0.123456789012345)
        token = encode_cursor(cursor)
        assert decode_cursor(token, "most_negative") == cursor

    def test_a_newest_cursor_is_refused_by_most_negative_and_the_other_way_round(self) -> None:
        newest = encode_cursor(Cursor(T0, uuid4()))
        negative = encode_cursor(Cursor(T0, uuid4(), -1.0))
        with pytest.raises(ValueError, match="belongs to order=newest"):
            decode_cursor(newest, "most_negative")
        with pytest.raises(ValueError, match="belongs to order=most_negative"):
            decode_cursor(negative, "newest")

    @pytest.mark.parametrize(
        "values",
        [
            ["most_negative", "low", "2024-01-01T00:00:00+00:00", str(uuid4())],
            ["most_negative", True, "2024-01-01T00:00:00+00:00", str(uuid4())],
            ["most_negative", -0.5, "2024-01-01T00:00:00+00:00"],
            ["most_negative", -0.5, "2024-01-01T00:00:00", str(uuid4())],
        ],
    )
    def test_malformed_tokens_are_rejected(self, values: list[object]) -> None:
        token = base64.urlsafe_b64encode(json.dumps(values).encode()).decode()
        with pytest.raises(ValueError, match="malformed cursor"):
            decode_cursor(token, "most_negative")


class TestScoreCursor:
    def query(self, **kw: object) -> ScoreQuery:
        return ScoreQuery(T0, T0.replace(month=6), **kw)  # type: ignore[arg-type]

    def test_round_trip_keeps_bucket_and_stored_dimension_values(self) -> None:
        query = self.query(granularity="day", group_by=("touchpoint", "channel"), tz="Asia/Tokyo")
        key = ScoreKey(T0, ("checkout", ""))
        token = encode_score_cursor(query.shape, key)
        assert decode_score_cursor(token, query.shape, 2) == key

    def test_total_granularity_has_no_bucket(self) -> None:
        query = self.query(granularity="total", group_by=("segment",))
        key = ScoreKey(None, ("vip",))
        assert decode_score_cursor(encode_score_cursor(query.shape, key), query.shape, 1) == key

    @pytest.mark.parametrize(
        "other",
        [
            {"granularity": "week", "group_by": ("touchpoint",)},
            {"granularity": "day", "group_by": ("channel",)},
            {"granularity": "day", "group_by": ("touchpoint",), "tz": "Europe/Berlin"},
        ],
    )
    def test_a_cursor_of_another_query_is_rejected(self, other: dict[str, object]) -> None:
        made = self.query(granularity="day", group_by=("touchpoint",))
        token = encode_score_cursor(made.shape, ScoreKey(T0, ("checkout",)))
        used = self.query(**other)
        with pytest.raises(ValueError, match="another query"):
            decode_score_cursor(token, used.shape, len(used.group_by))

    @pytest.mark.parametrize("token", ["", "x", "WzFd", encode_cursor(Cursor(T0, uuid4()))])
    def test_malformed_tokens_are_rejected(self, token: str) -> None:
        with pytest.raises(ValueError, match="cursor"):
            decode_score_cursor(token, "day||UTC", 0)
