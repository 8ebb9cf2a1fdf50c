"""Vendor timestamps in every shape normalise to the same UTC instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from shared.ingest.webhooks.timestamps import UtcDatetime, revision_of, to_utc

INSTANT = datetime(2024, 11, 21, 10, 50, 44, tzinfo=UTC)


class TestToUtc:
    @pytest.mark.parametrize(
        "value",
        [
            "2024-11-21T10:50:44Z",
            "2024-11-21T10:50:44.000000000Z",  # RFC 3339 with nanoseconds
            "2024-11-21T11:50:44+01:00",
            "2024-11-21 10:50:44",  # zone-less (Qualtrics' CompletedDate): UTC
            1732186244,  # Unix seconds (Delighted)
            1732186244000,  # Unix milliseconds
            "1732186244",
            1732186244.0,
            {"seconds": "1732186244", "nanos": 0},  # protobuf Timestamp JSON (Google Play)
            datetime(2024, 11, 21, 10, 50, 44),
            datetime(2024, 11, 21, 5, 50, 44, tzinfo=timezone(timedelta(hours=-5))),
        ],
    )
    def test_every_shape_is_the_same_instant(self, value: Any) -> None:
        moment = to_utc(value)
        assert moment == INSTANT and moment.tzinfo is UTC

    def test_nanoseconds_are_truncated_to_microseconds(self) -> None:
        assert to_utc("2024-11-21T10:50:44.123456789Z") == INSTANT + timedelta(microseconds=123456)

    def test_nanos_of_a_seconds_object_are_kept_to_the_microsecond(self) -> None:
        moment = to_utc({"seconds": 1732186244, "nanos": 987654321})
        assert moment == INSTANT + timedelta(microseconds=987654)

    @pytest.mark.parametrize("value", ["yesterday", "", True, None, [1], {"nanos": 1}, 10**20])
    def test_anything_else_is_a_value_error(self, value: Any) -> None:
        with pytest.raises(ValueError):
            to_utc(value)

    def test_revision_is_iso_utc_so_it_ranks_by_time(self) -> None:
        assert revision_of(1732186244) == "2024-11-21T10:50:44+00:00"


class TestUtcDatetimeField:
    class _Model(BaseModel):
        at: UtcDatetime

    def test_field_accepts_unix_seconds(self) -> None:
        assert self._Model(at=1732186244).at == INSTANT  # type: ignore[arg-type]

    def test_field_rejects_garbage_by_name(self) -> None:
        with pytest.raises(ValidationError) as exc:
            self._Model(at="soon")  # type: ignore[arg-type]
        assert exc.value.errors()[0]["loc"] == ("at",)
