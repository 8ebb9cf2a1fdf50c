"""The queries routes hand to the repository, and the opaque cursors that page through them."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from services.api.planner import ROLLUPS, Source
from shared.tables import SLICE_DIMENSIONS

Granularity = Literal["hour", "day", "week", "month", "total"]
Metric = Literal["nps", "enps", "csat", "ces", "stars", "sentiment"]
DriverMetric = Literal["nps", "csat", "ces", "stars", "sentiment"]
Format = Literal["json", "csv"]
FeedbackOrder = Literal["newest", "most_negative"]


def zone(name: str) -> tzinfo:
    """The tzinfo of an IANA name; UTC needs no zone database (a slim image may lack one)."""
    return UTC if name == "UTC" else ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class ScoreKey:
    """The sort key of one /v1/scores row: its bucket (None for total) and stored dim values."""

    bucket: datetime | None
    dims: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ScoreQuery:
    start: datetime
    end: datetime
    granularity: Granularity = "day"
    group_by: tuple[str, ...] = ()
    filters: Mapping[str, str] = field(default_factory=dict)
    tz: str = "UTC"
    limit: int = 5000
    format: Format = "json"
    after: ScoreKey | None = None
    # Last key to include (CSV export: the page end found before streaming starts).
    until: ScoreKey | None = None
    # What the rows are read from (planner.choose); score_rollups covers any query without topic.
    source: Source = ROLLUPS

    @property
    def shape(self) -> str:
        """What a cursor must have been made for: the same buckets and groups."""
        return f"{self.granularity}|{','.join(self.group_by)}|{self.tz}"


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class CompareQuery:
    metric: Metric
    current: Window
    previous: Window
    level: float = 0.95
    group_by: tuple[str, ...] = ()
    filters: Mapping[str, str] = field(default_factory=dict)
    source: Source = ROLLUPS


@dataclass(frozen=True, slots=True)
class DriversQuery:
    metric: DriverMetric
    window: Window
    level: float
    filters: Mapping[str, str]
    # The parts per topic come from a topic slice, the parts of all feedback from a slice
    # without topic (or the rollups), both covering the filters.
    topic_source: Source
    overall_source: Source


@dataclass(frozen=True, slots=True)
class Cursor:
    """The sort key of the last feedback row served: (occurred_at, feedback_id), led by the
    sentiment score in order=most_negative."""

    occurred_at: datetime
    feedback_id: UUID
    sentiment_score: float | None = None


@dataclass(frozen=True, slots=True)
class FeedbackQuery:
    limit: int = 50
    format: Format = "json"
    order: FeedbackOrder = "newest"
    start: datetime | None = None
    end: datetime | None = None
    after: Cursor | None = None
    until: Cursor | None = None
    touchpoint: str | None = None
    sentiment: str | None = None
    topic: str | None = None
    language: str | None = None
    source_kind: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    name: str
    stage: str | None
    team: str | None


def parse_group_by(raw: str | None) -> tuple[str, ...]:
    """'touchpoint,channel' -> ('touchpoint', 'channel'); ValueError naming an unknown one."""
    dims: list[str] = []
    for part in (raw or "").split(","):
        dim = part.strip()
        if not dim or dim in dims:
            continue
        if dim not in SLICE_DIMENSIONS:
            raise ValueError(
                f"unknown dimension {dim!r}; expected any of {', '.join(SLICE_DIMENSIONS)}"
            )
        dims.append(dim)
    return tuple(dims)


def _encode(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _decode(token: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("cursor time without zone")
    return moment.astimezone(UTC)


_MALFORMED = (binascii.Error, TypeError, ValueError, AttributeError, OverflowError)


_MOST_NEGATIVE = "most_negative"


def encode_cursor(cursor: Cursor) -> str:
    key = [cursor.occurred_at.isoformat(), str(cursor.feedback_id)]
    if cursor.sentiment_score is None:
        return _encode(key)
    # Tagged with its order, so a cursor cannot silently resume another order's listing.
    return _encode([_MOST_NEGATIVE, cursor.sentiment_score, *key])


def decode_cursor(token: str, order: FeedbackOrder = "newest") -> Cursor:
    """The inverse of encode_cursor for a listing in `order`; ValueError otherwise."""
    try:
        values = _decode(token)
        if not isinstance(values, list):
            raise TypeError("a cursor is a list")
        made_for: FeedbackOrder = "most_negative" if values[:1] == [_MOST_NEGATIVE] else "newest"
        if made_for == order == "most_negative":
            _, score, occurred_at, feedback_id = values
            if isinstance(score, bool) or not isinstance(score, int | float):
                raise TypeError("the sentiment score must be a number")
            return Cursor(_instant(occurred_at), UUID(feedback_id), float(score))
        if made_for == order:
            occurred_at, feedback_id = values
            return Cursor(_instant(occurred_at), UUID(feedback_id))
    except _MALFORMED as exc:
        raise ValueError("malformed cursor; pass next_cursor from a previous page") from exc
    raise ValueError(
        f"this cursor belongs to order={made_for}; keep the order of the first page, or drop "
        "the cursor to start again"
    )


def encode_score_cursor(shape: str, key: ScoreKey) -> str:
    bucket = key.bucket.isoformat() if key.bucket is not None else None
    return _encode([shape, bucket, list(key.dims)])


def decode_score_cursor(token: str, shape: str, dims: int) -> ScoreKey:
    """The inverse of encode_score_cursor for a query of `shape`; ValueError otherwise."""
    try:
        made_for, bucket, values = _decode(token)
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise TypeError("dimension values must be strings")
        key = ScoreKey(None if bucket is None else _instant(bucket), tuple(values))
    except _MALFORMED as exc:
        raise ValueError("malformed cursor; pass next_cursor from a previous page") from exc
    if (
        made_for != shape
        or len(key.dims) != dims
        or (key.bucket is None) != shape.startswith("total|")
    ):
        raise ValueError(
            "this cursor belongs to another query; keep granularity, group_by and tz unchanged"
        )
    return key
