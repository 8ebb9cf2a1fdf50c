"""One dependency per route: its parameters validated into the query the repository runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Query

from services.api.deps import SettingsDep
from services.api.models import (
    CompareQuery,
    Cursor,
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
        metric, Window(cur_start, cur_end), Window(prev_start, prev_end), level, group_by, filters
    )


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
    limit: Annotated[int | None, limit_param(*FEEDBACK_PAGE)] = None,
    cursor: Annotated[str | None, cursor_param()] = None,
    csv: CsvDep,
) -> FeedbackQuery:
    start, end = instant("from", from_), instant("to", to)
    check_window(start, end)
    after: Cursor | None = None
    if cursor:
        try:
            after = decode_cursor(cursor)
        except ValueError as exc:
            raise invalid("cursor", str(exc), cursor) from None
    return FeedbackQuery(
        limit=page_limit(limit, csv, default=FEEDBACK_PAGE[0], most=FEEDBACK_PAGE[1],
                         export_max=settings.export_max_rows),
        format="csv" if csv else "json",
        start=start,
        end=end,
        after=after,
        touchpoint=touchpoint or None,
        sentiment=sentiment.value if sentiment else None,
        topic=topic.value if topic else None,
        language=language or None,
        source_kind=source_kind.value if source_kind else None,
    )  # fmt: skip


ScoreQueryDep = Annotated[ScoreQuery, Depends(score_query)]
CompareQueryDep = Annotated[CompareQuery, Depends(compare_query)]
FeedbackQueryDep = Annotated[FeedbackQuery, Depends(feedback_query)]
