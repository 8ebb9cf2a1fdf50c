"""Query parameters shared by the routes, declared (and so documented) once.

A value FastAPI cannot check by type alone (a group_by dimension, a cursor, from >= to, a time
zone) is rejected as a RequestValidationError naming the parameter, so every 422 has one shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated
from zoneinfo import available_timezones

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError

from services.api import planner
from services.api.export import wants_csv
from services.api.models import Format, parse_group_by, zone
from shared.events import Topic
from shared.tables import SLICE_DIMENSIONS, TOPIC

_DIMENSION_DOC = "Only data whose {} equals this value (exact match; empty means no filter)."
# Names in the zone database that are not zones a caller means (nor ones PostgreSQL knows).
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


def dimension_filter(dim: str) -> object:
    # PostgreSQL text cannot hold NUL: refuse it here rather than fail in the database.
    return Query(max_length=256, pattern=r"^[^\x00]*$", description=_DIMENSION_DOC.format(dim))


def invalid(param: str, message: str, value: object = None) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", param), "msg": message, "type": "value_error", "input": value}]
    )


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_ZONES | {"UTC"}


def time_zone(
    tz: Annotated[
        str,
        Query(
            max_length=64,
            description="IANA time zone (e.g. `Europe/Berlin`) for day, week and month "
            "boundaries and for `from`/`to` given without an offset. Rollups are hourly UTC "
            "buckets, so boundaries are exact in zones whose offset is a whole number of hours; "
            "elsewhere (e.g. `Asia/Kolkata`) each hourly bucket counts in the local day, week or "
            "month in which it starts.",
            examples=["Europe/Berlin"],
        ),
    ] = "UTC",
) -> str:
    if tz not in _zones():
        raise invalid("tz", f"unknown time zone {tz!r}; expected an IANA name such as Etc/UTC", tz)
    return tz


TimeZoneDep = Annotated[str, Depends(time_zone)]


def instant(param: str, moment: datetime | None, tz: str = "UTC") -> datetime | None:
    if moment is None:
        return None
    try:
        # Naive datetimes are in `tz`; aware ones must still be a representable UTC instant.
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone(tz))
        return moment.astimezone(UTC)
    except OverflowError:
        raise invalid(param, "datetime out of range", str(moment)) from None


def check_window(start: datetime | None, end: datetime | None, param: str = "from") -> None:
    if start is not None and end is not None and start >= end:
        name = param.removesuffix("_from")
        message = (
            "'from' must be earlier than 'to'"
            if name == "from"
            else f"'{name}_from' must be earlier than '{name}_to'"
        )
        raise invalid(param, message, start.isoformat())


def minus(end: datetime, length: timedelta) -> datetime:
    try:
        return end - length
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def window_start(doc: str) -> object:
    return Query(
        alias="from",
        description="Window start, inclusive (ISO 8601; without an offset it is read in `tz`). "
        "Compared with the hourly bucket start. " + doc,
    )


def window_end(doc: str) -> object:
    return Query(
        description="Window end, exclusive (ISO 8601; without an offset it is read in `tz`). " + doc
    )


def group_by_dims(
    group_by: Annotated[
        str | None,
        Query(
            max_length=512,
            description="Comma-separated dimensions to group by, any of: "
            + ", ".join(SLICE_DIMENSIONS)
            + ". `topic` groups by topic label: a fact with several topics counts in the group "
            "of each of them (so topic groups add up to more than the total), and facts "
            "without topics form the group with topic null. Topic combines with one of these "
            "sets of other dimensions (filters and group_by together, audience always): "
            + ", ".join(planner.topic_combinations())
            + ".",
            examples=["touchpoint,channel", "topic"],
        ),
    ] = None,
) -> tuple[str, ...]:
    try:
        return parse_group_by(group_by)
    except ValueError as exc:
        raise invalid("group_by", str(exc), group_by) from None


def topic_filter() -> object:
    return Query(
        description="Only facts with this topic among their topic labels (any, not only the "
        "primary). Combines with the same dimensions as group_by=topic."
    )


def rollup_filters(
    touchpoint: Annotated[str | None, dimension_filter("touchpoint")] = None,
    journey_stage: Annotated[str | None, dimension_filter("journey stage")] = None,
    source_kind: Annotated[str | None, dimension_filter("source kind")] = None,
    channel: Annotated[str | None, dimension_filter("channel")] = None,
    segment: Annotated[str | None, dimension_filter("customer segment")] = None,
    language: Annotated[str | None, dimension_filter("language")] = None,
    survey_type: Annotated[
        str | None, dimension_filter("survey type (relationship or transactional)")
    ] = None,
    audience: Annotated[str | None, dimension_filter("survey audience")] = None,
    topic: Annotated[Topic | None, topic_filter()] = None,
) -> Mapping[str, str]:
    given = {
        "touchpoint": touchpoint, "journey_stage": journey_stage, "source_kind": source_kind,
        "channel": channel, "segment": segment, "language": language,
        "survey_type": survey_type, "audience": audience, TOPIC: topic.value if topic else None,
    }  # fmt: skip
    return {dim: value for dim, value in given.items() if value}


def covering_source(
    group_by: tuple[str, ...], filters: Mapping[str, str], param: str | None = None
) -> planner.Source:
    """The source the planner picks for these dimensions; a 422 naming what cannot combine."""
    try:
        return planner.choose((*group_by, *filters))
    except planner.Uncovered as exc:
        param = param or ("group_by" if TOPIC in group_by else TOPIC)
        raise invalid(param, str(exc), ",".join((*group_by, *filters))) from None


def csv_wanted(
    request: Request,
    format_: Annotated[
        Format | None,
        Query(
            alias="format",
            description="`csv` streams the rows as text/csv (columns in the 200 response's "
            "description); `json` pages them. Without it, an `Accept` header ranking "
            "`text/csv` above `application/json` asks for CSV; otherwise JSON.",
        ),
    ] = None,
) -> bool:
    # Accept is read here, not declared: OpenAPI ignores a declared Accept header parameter.
    return wants_csv(format_, request.headers.get("accept"))


def page_limit(limit: int | None, csv: bool, *, default: int, most: int, export_max: int) -> int:
    """JSON pages hold `default` rows unless asked, at most `most`; CSV up to `export_max`."""
    if csv:
        if limit is not None and limit > export_max:
            raise invalid("limit", f"at most {export_max} rows per CSV export", limit)
        return limit or export_max
    if limit is not None and limit > most:
        raise invalid(
            "limit", f"at most {most} for JSON pages; format=csv exports up to {export_max}", limit
        )
    return limit or default


def limit_param(default: int, most: int) -> object:
    return Query(
        ge=1,
        description=f"Rows in this response. JSON: default {default}, at most {most}. CSV: "
        "default and at most API_EXPORT_MAX_ROWS (100000 unless configured); when more rows "
        "follow, the `Link` (rel=next) and `X-Next-Cursor` headers say where to go on.",
    )


def cursor_param() -> object:
    return Query(
        max_length=1024,
        description="Opaque `next_cursor` (JSON) or `X-Next-Cursor` (CSV) of the previous page; "
        "omit for the first page.",
    )


CsvDep = Annotated[bool, Depends(csv_wanted)]
GroupByDep = Annotated[tuple[str, ...], Depends(group_by_dims)]
FiltersDep = Annotated[Mapping[str, str], Depends(rollup_filters)]
