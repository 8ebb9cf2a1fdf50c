"""The consumed-batch handler: one batch of enriched feedback is one database transaction."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics import repository, service
from services.metrics.models import Fact, fact_from_event, unstorable_reason
from services.metrics.telemetry import MetricsTelemetry
from shared.consumer import Consumed, Rejected
from shared.events import EnrichedFeedbackEvent

log = structlog.get_logger(__name__)

# SQLSTATE classes that blame the data, not the database: data exception, integrity
# violation, program limit exceeded (e.g. an index row too wide). Retrying cannot fix them.
DATA_ERROR_CLASSES = ("22", "23", "54")

Item = Consumed[EnrichedFeedbackEvent]


def _sqlstate(exc: DBAPIError) -> str:
    return str(getattr(exc.orig, "sqlstate", None) or "")


def _is_data_error(exc: DBAPIError) -> bool:
    return _sqlstate(exc).startswith(DATA_ERROR_CLASSES)


class FeedbackWriter:
    """`KafkaRunner` handler. Raises on a database error so the runner retries the batch."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], telemetry: MetricsTelemetry
    ) -> None:
        self.sessions = sessions
        self.telemetry = telemetry

    async def __call__(self, batch: list[Item]) -> list[Rejected]:
        pairs: list[tuple[Item, Fact]] = []
        rejected: list[Rejected] = []
        for item in batch:
            try:
                fact = fact_from_event(item.event)
            except (OverflowError, ValueError) as exc:  # a timestamp UTC cannot represent
                rejected.append(Rejected(item.record, "unstorable", str(exc)[:300]))
                continue
            if reason := unstorable_reason(fact):
                rejected.append(Rejected(item.record, "unstorable", reason))
            else:
                pairs.append((item, fact))
        try:
            await self.write([fact for _, fact in pairs])
        except DBAPIError as exc:
            if not _is_data_error(exc):
                raise
            log.warning("metrics.batch_refused", sqlstate=_sqlstate(exc), records=len(pairs))
            rejected.extend(await self._write_one_by_one(pairs))
        return rejected

    async def _write_one_by_one(self, pairs: Sequence[tuple[Item, Fact]]) -> list[Rejected]:
        """Find the records PostgreSQL refuses, so they alone go to the DLQ.

        One transaction per record, in any order: the writer's outcome does not depend on it
        (the newest version wins against whatever is stored), and a rare refusal must not stall
        the partition behind it.
        """
        rejected = []
        for item, fact in pairs:
            try:
                await self.write([fact])
            except DBAPIError as exc:
                if not _is_data_error(exc):
                    raise
                message = str(exc.orig).splitlines()[0][:300]
                error = f"{_sqlstate(exc)}: {message}"
                rejected.append(Rejected(item.record, "unstorable", error))
        return rejected

    async def write(self, facts: Sequence[Fact]) -> service.Plan:
        """Apply `facts` in one transaction: lock, compare, upsert facts, adjust rollups and
        slices."""
        collapsed = service.collapse(facts)
        if not collapsed.latest:
            return service.Plan()
        started = time.perf_counter()
        async with self.sessions.begin() as session:
            ids = [f["feedback_id"] for f in collapsed.latest]
            stored = await repository.lock_facts(session, ids)
            plan = service.plan(collapsed, stored)
            await repository.upsert_facts(session, plan.facts, list(stored))
            rows = await repository.apply_deltas(session, plan.deltas)
            slice_rows = await repository.apply_slice_deltas(session, plan.slice_deltas)
        seconds = time.perf_counter() - started
        self.telemetry.batch_written(
            plan.written, plan.skipped, rows, seconds, slice_rows=slice_rows
        )
        # After the commit: the items are in the scores only now.
        self.telemetry.facts_committed(plan.facts, datetime.now(UTC))
        log.debug(
            "metrics.batch_written",
            facts=len(plan.facts),
            rollup_rows=rows,
            slice_rows=slice_rows,
            skipped=sum(plan.skipped.values()),
            seconds=round(seconds, 4),
        )
        return plan
