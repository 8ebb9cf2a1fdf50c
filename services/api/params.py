"""Query parameters: declared (and so documented) here, validated into the service's queries.

A value FastAPI cannot check by type alone (a group_by dimension, a cursor, from >= to) is
rejected as a RequestValidationError naming the parameter, so every 422 has the same shape.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Query
from fastapi.exceptions import RequestValidationError

from services.api.deps import SettingsDep
from services.api.service import (
    Cursor,
    FeedbackQuery,
    Granularity,
    ScoreQuery,
    decode_cursor,
    parse_group_by,
)
from shared.events import SentimentLabel, SourceKind, Topic
from shared.tables import ROLLUP_DIMENSIONS

_DIMENSION_DOC = "Only data whose {} equals this value (exact match; empty means no filter)."


def _filter(dim: str) -> object:
    # PostgreSQL text cannot hold NUL: refuse it here rather than fail in the database.
    return Query(max_length=256, pattern=r"^[^\x00]*$", description=_DIMENSION_DOC.format(dim))


def invalid(param: str, message: str, value: object = None) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", param), "msg": message, "type": "value_error", "input": value}]
    )


def _utc(param: str, moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    try:
        # Naive datetimes are UTC; aware ones must still be a representable UTC instant.
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise invalid(param, "datetime out of range", str(moment)) from None


def _window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start >= end:
        raise invalid("from", "'from' must be earlier than 'to'", start.isoformat())


def _from(default: str) -> object:
    return Query(
        alias="from",
        description="Window start, inclusive (ISO 8601; a datetime without zone is UTC). "
        + default,
    )


def _to(default: str) -> object:
    return Query(
        description="Window end, exclusive (ISO 8601; a datetime without zone is UTC). " + default
    )


def score_query(
    settings: SettingsDep,
    from_: Annotated[
        datetime | None,
        _from("Compared with the hourly bucket start. Default: `to` minus 30 days."),
    ] = None,
    to: Annotated[datetime | None, _to("Default: now.")] = None,
    granularity: Annotated[
        Granularity,
        Query(description="Time bucket (UTC); `total` gives one bucket for the whole window."),
    ] = "day",
    group_by: Annotated[
        str | None,
        Query(
            max_length=512,
            description="Comma-separated dimensions to group by, any of: "
            + ", ".join(ROLLUP_DIMENSIONS)
            + ".",
            examples=["touchpoint,channel"],
        ),
    ] = None,
    touchpoint: Annotated[str | None, _filter("touchpoint")] = None,
    journey_stage: Annotated[str | None, _filter("journey stage")] = None,
    source_kind: Annotated[str | None, _filter("source kind")] = None,
    channel: Annotated[str | None, _filter("channel")] = None,
    segment: Annotated[str | None, _filter("customer segment")] = None,
    language: Annotated[str | None, _filter("language")] = None,
    survey_type: Annotated[str | None, _filter("survey type")] = None,
    audience: Annotated[str | None, _filter("survey audience")] = None,
) -> ScoreQuery:
    # The default window length is API_DEFAULT_WINDOW_DAYS (30 unless configured).
    end = _utc("to", to) or datetime.now(UTC)
    start = _utc("from", from_)
    if start is None:
        try:
            start = end - timedelta(days=settings.default_window_days)
        except OverflowError:
            start = datetime.min.replace(tzinfo=UTC)
    _window(start, end)
    try:
        dims = parse_group_by(group_by)
    except ValueError as exc:
        raise invalid("group_by", str(exc), group_by) from None
    given = {
        "touchpoint": touchpoint, "journey_stage": journey_stage, "source_kind": source_kind,
        "channel": channel, "segment": segment, "language": language,
        "survey_type": survey_type, "audience": audience,
    }  # fmt: skip
    filters = {dim: value for dim, value in given.items() if value}
    return ScoreQuery(start, end, granularity, dims, filters)


def feedback_query(
    touchpoint: Annotated[str | None, _filter("touchpoint")] = None,
    sentiment: Annotated[
        SentimentLabel | None, Query(description="Only items with this sentiment label.")
    ] = None,
    topic: Annotated[
        Topic | None, Query(description="Only items with this topic among their topics.")
    ] = None,
    language: Annotated[str | None, _filter("detected language (ISO 639-1)")] = None,
    source_kind: Annotated[
        SourceKind | None, Query(description="Only items from this kind of source.")
    ] = None,
    from_: Annotated[datetime | None, _from("Default: unbounded.")] = None,
    to: Annotated[datetime | None, _to("Default: unbounded.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.")] = 50,
    cursor: Annotated[
        str | None,
        Query(
            max_length=512,
            description="Opaque `next_cursor` of the previous page; omit for the first page.",
        ),
    ] = None,
) -> FeedbackQuery:
    start, end = _utc("from", from_), _utc("to", to)
    _window(start, end)
    after: Cursor | None = None
    if cursor:
        try:
            after = decode_cursor(cursor)
        except ValueError as exc:
            raise invalid("cursor", str(exc), cursor) from None
    return FeedbackQuery(
        limit=limit,
        start=start,
        end=end,
        after=after,
        touchpoint=touchpoint or None,
        sentiment=sentiment.value if sentiment else None,
        topic=topic.value if topic else None,
        language=language or None,
        source_kind=source_kind.value if source_kind else None,
    )


ScoreQueryDep = Annotated[ScoreQuery, Depends(score_query)]
FeedbackQueryDep = Annotated[FeedbackQuery, Depends(feedback_query)]
