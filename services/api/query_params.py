"""One dependency per route: its parameters validated into the query the repository runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Query, Request

from services.api import planner
from services.api.deps import SettingsDep
from services.api.models import (
    CompareQuery,
    Cursor,
    DriverMetric,
    DriversQuery,
    FeedbackOrder,
    FeedbackQuery,
    Granularity,
    Metric,
    ScoreKey,
    ScoreQuery,
    Window,
    decode_cursor,
    decode_score_cursor,
)
from services.api.params import (
    CsvDep,
    FiltersDep,
    GroupByDep,
    TimeZoneDep,
    check_window,
    covering_source,
    cursor_param,
    dimension_filter,
    instant,
    invalid,
    limit_param,
    minus,
    page_limit,
    window_end,
    window_start,
)
from shared.events import SentimentLabel, SourceKind, Topic
from shared.tables import SLICE_DIMENSIONS, TOPIC

SCORES_PAGE = (5000, 10_000)  # JSON rows per page: default, most
FEEDBACK_PAGE = (50, 500)


def score_query(
    *,
    settings: SettingsDep,
    from_: Annotated[
        datetime | None, window_start("Default: `to` minus API_DEFAULT_WINDOW_DAYS (30).")
    ] = None,
    to: Annotated[datetime | None, window_end("Default: now.")] = None,
    granularity: Annotated[
        Granularity,
        Query(description="Time bucket in `tz`; `total` gives one bucket for the whole window."),
    ] = "day",
    group_by: GroupByDep,
    filters: FiltersDep,
    tz: TimeZoneDep,
    limit: Annotated[int | None, limit_param(*SCORES_PAGE)] = None,
    cursor: Annotated[str | None, cursor_param()] = None,
    csv: CsvDep,
) -> ScoreQuery:
    end = instant("to", to, tz) or datetime.now(UTC)
    start = instant("from", from_, tz) or minus(end, timedelta(days=settings.default_window_days))
    check_window(start, end)
    query = ScoreQuery(
        start, end, granularity, group_by, filters, tz,
        limit=page_limit(limit, csv, default=SCORES_PAGE[0], most=SCORES_PAGE[1],
                         export_max=settings.export_max_rows),
        format="csv" if csv else "json",
        source=covering_source(group_by, filters),
    )  # fmt: skip
    after: ScoreKey | None = None
    if cursor:
        try:
            after = decode_score_cursor(cursor, query.shape, len(group_by))
        except ValueError as exc:
            raise invalid("cursor", str(exc), cursor) from None
    return replace(query, after=after)


def compare_query(
    *,
    settings: SettingsDep,
    metric: Annotated[
        Metric,
        Query(
            description="The metric: nps and enps (two-sample z, trinomial variances), csat "
            "(% satisfied, two-proportion z), ces, stars, sentiment (means, Welch's t)."
        ),
    ],
    current_from: Annotated[
        datetime | None,
        Query(
            description="Current window start, inclusive (ISO 8601; without an offset it is "
            "read in `tz`; compared with the hourly bucket start). Default: current_to minus "
            "API_DEFAULT_WINDOW_DAYS (30)."
        ),
    ] = None,
    current_to: Annotated[
        datetime | None, Query(description="Current window end, exclusive. Default: now.")
    ] = None,
    previous_from: Annotated[
        datetime | None,
        Query(
            description="Previous window start, inclusive. Default: previous_to minus the "
            "current window's length."
        ),
    ] = None,
    previous_to: Annotated[
        datetime | None,
        Query(
            description="Previous window end, exclusive. Default: current_from. The windows "
            "must not overlap (the tests assume independent samples)."
        ),
    ] = None,
    level: Annotated[
        float,
        Query(
            ge=0.5,
            le=0.9999,
            description="Confidence level of the intervals; `significant` "
            "means p_value < 1 − level.",
        ),
    ] = 0.95,
    group_by: GroupByDep,
    filters: FiltersDep,
    tz: TimeZoneDep,
) -> CompareQuery:
    cur_end = instant("current_to", current_to, tz) or datetime.now(UTC)
    cur_start = instant("current_from", current_from, tz) or minus(
        cur_end, timedelta(days=settings.default_window_days)
    )
    check_window(cur_start, cur_end, "current_from")
    prev_end = instant("previous_to", previous_to, tz) or cur_start
    prev_start = instant("previous_from", previous_from, tz) or minus(prev_end, cur_end - cur_start)
    check_window(prev_start, prev_end, "previous_from")
    if prev_start < cur_end and cur_start < prev_end:
        raise invalid(
            "previous_from", "the previous window overlaps the current one", prev_start.isoformat()
        )
    return CompareQuery(
        metric, Window(cur_start, cur_end), Window(prev_start, prev_end), level, group_by, filters,
        covering_source(group_by, filters),
    )  # fmt: skip


def feedback_query(
    *,
    settings: SettingsDep,
    touchpoint: Annotated[str | None, dimension_filter("touchpoint")] = None,
    sentiment: Annotated[
        SentimentLabel | None, Query(description="Only items with this sentiment label.")
    ] = None,
    topic: Annotated[
        Topic | None, Query(description="Only items with this topic among their topics.")
    ] = None,
    language: Annotated[str | None, dimension_filter("detected language (ISO 639-1)")] = None,
    source_kind: Annotated[
        SourceKind | None, Query(description="Only items from this kind of source.")
    ] = None,
    from_: Annotated[
        datetime | None,
        Query(
            alias="from",
            description="Only items that occurred at or after this instant "
            "(ISO 8601; a datetime without an offset is UTC). Default: unbounded.",
        ),
    ] = None,
    to: Annotated[
        datetime | None,
        Query(description="Only items that occurred before this instant. Default: unbounded."),
    ] = None,
    order: Annotated[
        FeedbackOrder,
        Query(
            description="`newest`: newest first (by occurred_at, then feedback_id). "
            "`most_negative`: only items with a sentiment score, lowest score first, then "
            "newest, then feedback_id — with `topic=` the top negative verbatims of a topic. "
            "A cursor only continues the order it was made for."
        ),
    ] = "newest",
    limit: Annotated[int | None, limit_param(*FEEDBACK_PAGE)] = None,
    cursor: Annotated[str | None, cursor_param()] = None,
    csv: CsvDep,
) -> FeedbackQuery:
    start, end = instant("from", from_), instant("to", to)
    check_window(start, end)
    after: Cursor | None = None
    if cursor:
        try:
            after = decode_cursor(cursor, order)
        except ValueError as exc:
            raise invalid("cursor", str(exc), cursor) from None
    return FeedbackQuery(
        limit=page_limit(limit, csv, default=FEEDBACK_PAGE[0], most=FEEDBACK_PAGE[1],
                         export_max=settings.export_max_rows),
        format="csv" if csv else "json",
        order=order,
        start=start,
        end=end,
        after=after,
        touchpoint=touchpoint or None,
        sentiment=sentiment.value if sentiment else None,
        topic=topic.value if topic else None,
        language=language or None,
        source_kind=source_kind.value if source_kind else None,
    )  # fmt: skip


DRIVER_FILTERS = ("touchpoint", "journey_stage", "channel")


def drivers_query(
    *,
    request: Request,
    settings: SettingsDep,
    metric: Annotated[
        DriverMetric,
        Query(
            description="The metric compared with and without each topic: nps (two-sample z), "
            "csat (% satisfied, two-proportion z), ces, stars, sentiment (means, Welch's t)."
        ),
    ],
    from_: Annotated[
        datetime | None, window_start("Default: `to` minus API_DEFAULT_WINDOW_DAYS (30).")
    ] = None,
    to: Annotated[datetime | None, window_end("Default: now.")] = None,
    level: Annotated[
        float,
        Query(
            ge=0.5,
            le=0.9999,
            description="Confidence level of every interval; `significant` means "
            "p_value < 1 − level.",
        ),
    ] = 0.95,
    touchpoint: Annotated[str | None, dimension_filter("touchpoint")] = None,
    journey_stage: Annotated[str | None, dimension_filter("journey stage")] = None,
    channel: Annotated[str | None, dimension_filter("channel")] = None,
    tz: TimeZoneDep,
) -> DriversQuery:
    # Any other dimension would be ignored silently by FastAPI: refuse it instead.
    others = [d for d in SLICE_DIMENSIONS if d not in DRIVER_FILTERS and d in request.query_params]
    if others:
        raise invalid(
            others[0],
            f"drivers cannot be filtered by {others[0]}; filters: {', '.join(DRIVER_FILTERS)}",
            request.query_params[others[0]],
        )
    end = instant("to", to, tz) or datetime.now(UTC)
    start = instant("from", from_, tz) or minus(end, timedelta(days=settings.default_window_days))
    check_window(start, end)
    given = {"touchpoint": touchpoint, "journey_stage": journey_stage, "channel": channel}
    filters = {dim: value for dim, value in given.items() if value}
    return DriversQuery(
        metric=metric,
        window=Window(start, end),
        level=level,
        filters=filters,
        topic_source=covering_source((TOPIC,), filters, param=next(reversed(filters), TOPIC)),
        overall_source=planner.choose(filters),
    )


ScoreQueryDep = Annotated[ScoreQuery, Depends(score_query)]
CompareQueryDep = Annotated[CompareQuery, Depends(compare_query)]
FeedbackQueryDep = Annotated[FeedbackQuery, Depends(feedback_query)]
DriversQueryDep = Annotated[DriversQuery, Depends(drivers_query)]
