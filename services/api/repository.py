"""Runs the api's statements (statements.py). Read-only.

Every query runs under a deadline, and a database that cannot be reached (refused, down,
restarting, not migrated, too slow) surfaces as DatabaseUnavailable (503), never as a 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import structlog
from sqlalchemy import Select, literal_column, select, text
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from services.api import planner, reads, statements
from services.api.errors import UnknownTimeZone
from services.api.models import CompareQuery, DriversQuery, FeedbackQuery, ScoreQuery
from shared.errors import DatabaseUnavailable
from shared.tables import score_rollups

log = structlog.get_logger(__name__)

# SQLSTATE classes meaning "the database is not there for us right now": connection exception,
# insufficient resources, operator intervention (shutdown, cancel), invalid catalog (no such db),
# and an undefined table or column (migrations not applied yet, or not far enough).
_UNAVAILABLE_CLASSES = ("08", "53", "57", "3D")
_UNAVAILABLE_CODES = ("42P01", "42703")
# invalid_parameter_value: the one a time zone PostgreSQL does not know raises (its tz database
# may be older than Python's).
_INVALID_PARAMETER = "22023"
# CSV exports read through a server-side cursor, this many rows at a time.
STREAM_CHUNK_ROWS = 1000


def _sqlstate(exc: DBAPIError) -> str:
    return str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, OSError):  # refused, reset, unreachable; TimeoutError is one too
        return True
    if not isinstance(exc, DBAPIError):
        return False
    code = _sqlstate(exc)
    return (
        exc.connection_invalidated
        or isinstance(exc, (OperationalError, InterfaceError))
        or code[:2] in _UNAVAILABLE_CLASSES
        or code in _UNAVAILABLE_CODES
    )


def _translate(exc: OSError | DBAPIError) -> Exception:
    """The typed error an expected database failure stands for; the failure itself otherwise."""
    if isinstance(exc, DBAPIError) and _sqlstate(exc) == _INVALID_PARAMETER:
        return UnknownTimeZone("the database does not know this time zone")
    if not is_unavailable(exc):
        return exc
    log.warning("api.database_unavailable", error=type(exc).__name__)
    return DatabaseUnavailable("the database is unavailable; retry later")


class Repository:
    def __init__(self, session: AsyncSession, timeout_s: float) -> None:
        self._session = session
        self._timeout_s = timeout_s

    async def _serial(self, stmt: Select[Any]) -> None:
        """No parallel workers for the rest of the transaction (the request) when the statement
        asks for none: a union of small index range scans (reads.SERIAL)."""
        if stmt.get_execution_options().get(reads.SERIAL):
            await self._session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))

    async def _rows(self, stmt: Select[Any]) -> Sequence[RowMapping]:
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._serial(stmt)
                result = await self._session.execute(stmt)
                return result.mappings().all()
        except (OSError, DBAPIError) as exc:
            error = _translate(exc)
            if error is exc:
                raise
            raise error from exc

    async def _stream(self, stmt: Select[Any]) -> AsyncIterator[Sequence[RowMapping]]:
        """Rows in chunks from a server-side cursor; each chunk under the query deadline."""
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._serial(stmt)
                result = await self._session.stream(stmt)
            chunks = result.mappings().partitions(STREAM_CHUNK_ROWS)
            while True:
                async with asyncio.timeout(self._timeout_s):
                    chunk = await anext(chunks, None)
                if chunk is None:
                    return
                yield chunk
        except (OSError, DBAPIError) as exc:
            error = _translate(exc)
            if error is exc:
                raise
            raise error from exc

    async def ping(self) -> None:
        """Reachable, and migrated far enough for our queries."""
        await self._rows(select(literal_column("1")).select_from(score_rollups).limit(1))

    async def scores(self, query: ScoreQuery) -> Sequence[RowMapping]:
        """Up to limit + 1 rows: the extra one only says another page exists."""
        return await self._rows(statements.scores_statement(query, query.limit + 1))

    async def scores_page_end(self, query: ScoreQuery) -> Sequence[RowMapping]:
        return await self._rows(statements.scores_page_end(query))

    def stream_scores(self, query: ScoreQuery) -> AsyncIterator[Sequence[RowMapping]]:
        return self._stream(statements.scores_statement(query, query.limit))

    async def compare(self, query: CompareQuery) -> Sequence[RowMapping]:
        return await self._rows(statements.compare_statement(query))

    async def touchpoint_totals(self) -> Sequence[RowMapping]:
        source = planner.choose(("touchpoint", "journey_stage"))
        return await self._rows(statements.touchpoints_statement(source))

    async def drivers(self, query: DriversQuery) -> tuple[Sequence[RowMapping], RowMapping]:
        """The parts per topic, and the one row of parts over all feedback."""
        per_topic, overall = statements.drivers_statements(query)
        return await self._rows(per_topic), (await self._rows(overall))[0]

    async def feedback(self, query: FeedbackQuery) -> Sequence[RowMapping]:
        """Up to limit + 1 rows: the extra one only says another page exists."""
        return await self._rows(statements.feedback_statement(query, query.limit + 1))

    async def feedback_page_end(self, query: FeedbackQuery) -> Sequence[RowMapping]:
        return await self._rows(statements.feedback_page_end(query))

    def stream_feedback(self, query: FeedbackQuery) -> AsyncIterator[Sequence[RowMapping]]:
        return self._stream(statements.feedback_statement(query, query.limit))
