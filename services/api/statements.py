"""The SQL of the api service, built as statements. Scores come from the rollups, never the facts.

Customer metrics (NPS, CSAT, CES, stars, sentiment) leave employee-audience rows out and eNPS
is over those rows alone, in every endpoint alike (scores, compare, touchpoints, drivers).

Pages are keyset-paged: every listing is ordered by a unique key, a cursor holds the last key
served, and the next page starts strictly after it, so rows never repeat or go missing between
pages the way OFFSET paging does when data arrives meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, get_args

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    FromClause,
    Select,
    and_,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy import tuple_ as row_value

from services.api.models import (
    CompareQuery,
    Cursor,
    DriversQuery,
    FeedbackQuery,
    Granularity,
    ScoreKey,
    ScoreQuery,
)
from services.api.planner import Part, Source, split
from services.api.reads import read_from, table, window_rows, within, without_other_slices
from shared.tables import feedback_facts

GRANULARITIES = get_args(Granularity)
_SIMPLE_PARTS = (
    "csat_n", "csat_sum", "csat_satisfied", "ces_n", "ces_sum", "ces_sumsq", "ces_easy",
    "stars_n", "stars_sum", "stars_sumsq", "sentiment_n", "sentiment_sum", "sentiment_sumsq",
    "sentiment_negative",
)  # fmt: skip


def _total(column: ColumnElement[Any], where: ColumnElement[bool] | None = None) -> Any:
    summed = func.sum(column) if where is None else func.sum(column).filter(where)
    # sum(bigint) is numeric in PostgreSQL; cast back so the service gets ints, not Decimals.
    kind = Float if isinstance(column.type, Float) else BigInteger
    return cast(func.coalesce(summed, 0), kind)


def _both(a: ColumnElement[bool] | None, b: ColumnElement[bool]) -> ColumnElement[bool]:
    return b if a is None else and_(a, b)


def measures(
    rows: FromClause, where: ColumnElement[bool] | None = None, prefix: str = ""
) -> list[Any]:
    """n and every PART_KEYS sum, labelled `prefix + key`, over the rows matching `where`.

    The customer metrics (nps, csat, ces, stars, sentiment) sum only rows of audience !=
    'employee', so an employee pulse survey moves eNPS alone; enps sums the employee rows. n
    counts every feedback item, whatever its audience.
    """
    t = rows.c
    customer = _both(where, t.audience != "employee")
    employee = _both(where, t.audience == "employee")
    columns = [_total(t.n, where).label(f"{prefix}n")]
    for part in ("n", "promoters", "passives", "detractors"):
        for label, audience in (("nps", customer), ("enps", employee)):
            summed = _total(t[f"nps_{part}"], audience)
            columns.append(summed.label(f"{prefix}{label}_{part}"))
    columns += [_total(t[name], customer).label(f"{prefix}{name}") for name in _SIMPLE_PARTS]
    return columns


def _bucket(query: ScoreQuery, rows: FromClause) -> ColumnElement[Any] | None:
    if query.granularity == "total":
        return None
    t = rows.c
    if query.granularity == "hour":
        # Rollup rows are hourly already; a zone only changes how the instant is written.
        return t.bucket_start
    assert query.granularity in GRANULARITIES  # it is spliced into the SQL text below
    unit: ColumnElement[str] = literal_column(f"'{query.granularity}'")
    if query.tz == "UTC":
        # The same buckets about 20% cheaper than the zone-aware form (measured, 438k rows).
        utc: ColumnElement[str] = literal_column("'UTC'")
        return func.timezone(utc, func.date_trunc(unit, func.timezone(utc, t.bucket_start)))
    # date_trunc(unit, timestamptz, zone): local midnights / Mondays / firsts of the month as
    # instants, DST-aware. The zone (a validated IANA name) is rendered as an escaped literal:
    # a bound parameter would differ between SELECT and GROUP BY, which PostgreSQL refuses.
    return func.date_trunc(unit, t.bucket_start, literal(query.tz, literal_execute=True))


def _key_values(key: ScoreKey) -> list[Any]:
    return list(key.dims) if key.bucket is None else [key.bucket, *key.dims]


def _rollup_filters(
    stmt: Select[Any], rows: FromClause, parts: Sequence[Part], filters: Mapping[str, str]
) -> Select[Any]:
    for dim, value in filters.items():
        stmt = stmt.where(rows.c[dim] == value)
    return without_other_slices(stmt, rows, parts)


def _grouped(query: ScoreQuery, *columns: Callable[[FromClause], list[Any]]) -> Select[Any]:
    """SELECT [bucket,] group_by dims, columns ... GROUP BY and ORDER BY that key, over the
    window's rows (the planner's parts: hourly, day twin, or whole days and edge hours)."""
    parts = split(query.source, query.start, query.end, query.granularity, query.tz)
    rows = read_from(parts)
    bucket = _bucket(query, rows)
    dims: list[Any] = [rows.c[d] for d in query.group_by]
    keys = dims if bucket is None else [bucket, *dims]
    labelled = dims if bucket is None else [bucket.label("bucket"), *dims]
    selected = [column for make in columns for column in make(rows)]
    stmt = within(select(*labelled, *selected), rows, parts)
    stmt = _rollup_filters(stmt, rows, parts, query.filters)
    # A row's group key is a function of the row, so keyset bounds can filter the input rows.
    if query.after is not None:
        after = _key_values(query.after)
        stmt = stmt.where(row_value(*keys) > row_value(*after) if keys else false())
    if query.until is not None and keys:
        stmt = stmt.where(row_value(*keys) <= row_value(*_key_values(query.until)))
    return stmt.group_by(*keys).order_by(*keys)


def scores_statement(query: ScoreQuery, limit: int | None) -> Select[Any]:
    stmt = _grouped(query, measures)
    return stmt if limit is None else stmt.limit(limit)


def scores_page_end(query: ScoreQuery) -> Select[Any]:
    """The keys of the limit-th row and the one after it (two rows: another page follows)."""
    # count(*) keeps a SELECT without keys (total, no group_by) valid and one row long.
    return _grouped(query, lambda _: [func.count()]).offset(query.limit - 1).limit(2)


def compare_statement(query: CompareQuery) -> Select[Any]:
    """Both windows' parts per group in one pass, labelled current_* and previous_*."""
    current = split(query.source, query.current.start, query.current.end)
    previous = split(query.source, query.previous.start, query.previous.end)
    rows = read_from((*current, *previous))
    dims = [rows.c[d] for d in query.group_by]
    now, before = window_rows(rows, current), window_rows(rows, previous)
    stmt = select(*dims, *measures(rows, now, "current_"), *measures(rows, before, "previous_"))
    stmt = _rollup_filters(within(stmt, rows, (*current, *previous)), rows, current, query.filters)
    return stmt.group_by(*dims).order_by(*dims)


def touchpoints_statement(source: Source) -> Select[Any]:
    t = table(source).c
    stage = func.mode().within_group(t.journey_stage).label("journey_stage")
    stmt = select(t.touchpoint, stage, *measures(table(source)))
    if source.slice is not None:
        stmt = stmt.where(t.slice == source.slice)
    return stmt.group_by(t.touchpoint).order_by(t.touchpoint)


def _window_totals(source: Source, query: DriversQuery, *keys: str) -> Select[Any]:
    parts = split(source, query.window.start, query.window.end)
    rows = read_from(parts)
    dims = [rows.c[k] for k in keys]
    stmt = within(select(*dims, *measures(rows)), rows, parts)
    stmt = _rollup_filters(stmt, rows, parts, query.filters)
    return stmt.group_by(*dims).order_by(*dims) if dims else stmt


def drivers_statements(query: DriversQuery) -> tuple[Select[Any], Select[Any]]:
    """The parts per topic (the topic slice: with the topic), and over all feedback (a slice
    without topic, where each fact counts once), in the window and filters."""
    return _window_totals(query.topic_source, query, "topic"), _window_totals(
        query.overall_source, query
    )


_FEEDBACK_COLUMNS = (
    "feedback_id", "source_kind", "source", "source_id", "occurred_at", "touchpoint",
    "journey_stage", "channel", "segment", "language", "redacted_text", "sentiment_label",
    "sentiment_score", "sentiment_confidence", "topics", "nps", "csat", "ces", "stars",
    "model_version",
)  # fmt: skip


def _feedback_where(stmt: Select[Any], query: FeedbackQuery) -> Select[Any]:
    f = feedback_facts.c
    stmt = stmt.where(f.deleted.is_(False))
    equal = {
        "touchpoint": query.touchpoint,
        "sentiment_label": query.sentiment,
        "language": query.language,
        "source_kind": query.source_kind,
    }
    for column, value in equal.items():
        if value is not None:
            stmt = stmt.where(f[column] == value)
    if query.topic is not None:
        # JSONB containment: served by a GIN (jsonb_path_ops) index on topics.
        stmt = stmt.where(f.topics.contains([{"label": query.topic}]))
    if query.start is not None:
        stmt = stmt.where(f.occurred_at >= query.start)
    if query.end is not None:
        stmt = stmt.where(f.occurred_at < query.end)
    if query.order == "most_negative":
        return _most_negative(stmt.where(f.sentiment_score.is_not(None)), query)
    key = row_value(f.occurred_at, f.feedback_id)
    # Newest first: later pages hold smaller keys.
    if query.after is not None:
        stmt = stmt.where(key < row_value(*_cursor_values(query.after)))
    if query.until is not None:
        stmt = stmt.where(key >= row_value(*_cursor_values(query.until)))
    return stmt.order_by(f.occurred_at.desc(), f.feedback_id.desc())


def _most_negative(stmt: Select[Any], query: FeedbackQuery) -> Select[Any]:
    """Lowest sentiment score first, then newest, then feedback_id (descending, as for newest).

    The directions are mixed, so the keyset bound is spelled out rather than one row-value
    comparison; `score >= s` alone lets an index on sentiment_score start at the cursor.
    """
    f = feedback_facts.c
    newer = row_value(f.occurred_at, f.feedback_id)
    if query.after is not None:
        score, key = query.after.sentiment_score, row_value(*_cursor_values(query.after))
        stmt = stmt.where(
            f.sentiment_score >= score,
            or_(f.sentiment_score > score, and_(f.sentiment_score == score, newer < key)),
        )
    if query.until is not None:
        score, key = query.until.sentiment_score, row_value(*_cursor_values(query.until))
        stmt = stmt.where(
            f.sentiment_score <= score,
            or_(f.sentiment_score < score, and_(f.sentiment_score == score, newer >= key)),
        )
    return stmt.order_by(f.sentiment_score.asc(), f.occurred_at.desc(), f.feedback_id.desc())


def _cursor_values(cursor: Cursor) -> tuple[Any, Any]:
    return cursor.occurred_at, cursor.feedback_id


def feedback_statement(query: FeedbackQuery, limit: int | None) -> Select[Any]:
    f = feedback_facts.c
    stmt = _feedback_where(select(*(f[c] for c in _FEEDBACK_COLUMNS)), query)
    return stmt if limit is None else stmt.limit(limit)


def feedback_page_end(query: FeedbackQuery) -> Select[Any]:
    f = feedback_facts.c
    stmt = _feedback_where(select(f.sentiment_score, f.occurred_at, f.feedback_id), query)
    return stmt.offset(query.limit - 1).limit(2)
