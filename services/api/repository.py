"""All SQL of the api service. Read-only; scores come from the rollups, never from the facts.

Every query runs under a deadline, and a database that cannot be reached (refused, down,
restarting, not migrated, too slow) surfaces as DatabaseUnavailable (503), never as a 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, get_args

import structlog
from sqlalchemy import BigInteger, ColumnElement, Float, Select, cast, func, literal_column, select
from sqlalchemy import tuple_ as row_value
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.service import FeedbackQuery, Granularity, ScoreQuery
from shared.errors import DatabaseUnavailable
from shared.tables import feedback_facts, score_rollups

log = structlog.get_logger(__name__)

# SQLSTATE classes meaning "the database is not there for us right now": connection exception,
# insufficient resources, operator intervention (shutdown, cancel), invalid catalog (no such db),
# and an undefined table (migrations not applied yet).
_UNAVAILABLE_CLASSES = ("08", "53", "57", "3D")
_UNAVAILABLE_CODES = ("42P01",)
GRANULARITIES = get_args(Granularity)


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, OSError):  # refused, reset, unreachable; TimeoutError is one too
        return True
    if not isinstance(exc, DBAPIError):
        return False
    code = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
    return (
        exc.connection_invalidated
        or isinstance(exc, (OperationalError, InterfaceError))
        or code[:2] in _UNAVAILABLE_CLASSES
        or code in _UNAVAILABLE_CODES
    )


def _total(column: ColumnElement[Any], where: ColumnElement[bool] | None = None) -> Any:
    summed = func.sum(column) if where is None else func.sum(column).filter(where)
    # sum(bigint) is numeric in PostgreSQL; cast back so the service gets ints, not Decimals.
    kind = Float if isinstance(column.type, Float) else BigInteger
    return cast(func.coalesce(summed, 0), kind)


def _measures() -> list[Any]:
    t = score_rollups.c
    customer, employee = t.audience != "employee", t.audience == "employee"
    columns = [_total(t.n).label("n")]
    for part in ("n", "promoters", "passives", "detractors"):
        columns.append(_total(t[f"nps_{part}"], customer).label(f"nps_{part}"))
        columns.append(_total(t[f"nps_{part}"], employee).label(f"enps_{part}"))
    for name in (
        "csat_n",
        "csat_sum",
        "csat_satisfied",
        "ces_n",
        "ces_sum",
        "ces_easy",
        "stars_n",
        "stars_sum",
        "sentiment_n",
        "sentiment_sum",
        "sentiment_negative",
    ):
        columns.append(_total(t[name]).label(name))
    return columns


def scores_statement(query: ScoreQuery) -> Select[Any]:
    t = score_rollups.c
    dims = [t[d] for d in query.group_by]
    keys: list[Any] = list(dims)
    columns: list[Any] = [*dims, *_measures()]
    if query.granularity != "total":
        assert query.granularity in GRANULARITIES  # it is spliced into the SQL text below
        unit: ColumnElement[str] = literal_column(f"'{query.granularity}'")
        # Buckets in UTC whatever the session time zone; back to timestamptz for the client.
        utc: ColumnElement[str] = literal_column("'UTC'")
        bucket = func.timezone(utc, func.date_trunc(unit, func.timezone(utc, t.bucket_start)))
        keys.insert(0, bucket)
        columns.insert(0, bucket.label("bucket"))
    stmt = select(*columns).where(t.bucket_start >= query.start, t.bucket_start < query.end)
    for dim, value in query.filters.items():
        stmt = stmt.where(t[dim] == value)
    return stmt.group_by(*keys).order_by(*keys)


def touchpoints_statement() -> Select[Any]:
    t = score_rollups.c
    stage = func.mode().within_group(t.journey_stage).label("journey_stage")
    return select(t.touchpoint, stage, *_measures()).group_by(t.touchpoint).order_by(t.touchpoint)


def feedback_statement(query: FeedbackQuery) -> Select[Any]:
    f = feedback_facts.c
    stmt = select(
        f.feedback_id,
        f.source_kind,
        f.source,
        f.source_id,
        f.occurred_at,
        f.touchpoint,
        f.journey_stage,
        f.channel,
        f.segment,
        f.language,
        f.redacted_text,
        f.sentiment_label,
        f.sentiment_score,
        f.sentiment_confidence,
        f.topics,
        f.nps,
        f.csat,
        f.ces,
        f.stars,
        f.model_version,
    ).where(f.deleted.is_(False))
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
    if query.after is not None:
        after = query.after
        stmt = stmt.where(
            row_value(f.occurred_at, f.feedback_id)
            < row_value(after.occurred_at, after.feedback_id)
        )
    order = (f.occurred_at.desc(), f.feedback_id.desc())
    return stmt.order_by(*order).limit(query.limit + 1)


class Repository:
    def __init__(self, session: AsyncSession, timeout_s: float) -> None:
        self._session = session
        self._timeout_s = timeout_s

    async def _rows(self, stmt: Select[Any]) -> Sequence[RowMapping]:
        try:
            async with asyncio.timeout(self._timeout_s):
                result = await self._session.execute(stmt)
                return result.mappings().all()
        except (OSError, DBAPIError) as exc:
            if not is_unavailable(exc):
                raise
            log.warning("api.database_unavailable", error=type(exc).__name__)
            raise DatabaseUnavailable("the database is unavailable; retry later") from exc

    async def ping(self) -> None:
        """Reachable, and migrated far enough for our queries."""
        await self._rows(select(literal_column("1")).select_from(score_rollups).limit(1))

    async def scores(self, query: ScoreQuery) -> Sequence[RowMapping]:
        return await self._rows(scores_statement(query))

    async def touchpoint_totals(self) -> Sequence[RowMapping]:
        return await self._rows(touchpoints_statement())

    async def feedback(self, query: FeedbackQuery) -> Sequence[RowMapping]:
        return await self._rows(feedback_statement(query))
