"""All SQL of the alerts: the rollup read, the alert rows, the outbox and the evaluator's lock.

`touchpoint_parts` is the one place that reads scores for alerts; it reads the hourly
'touchpoint' slice of score_slices (touchpoint, stage, audience per hour), a small fraction of
the score_rollups rows holding the same parts. Hourly, not the day twin: the windows end at
whole hours.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Float, Select, cast, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.alerts.rules import PART_KEYS, Parts, Windows
from shared.alert_tables import alert_notifications, alerts
from shared.tables import FLOAT_MEASURES, SLICES_BY_NAME, score_slices

# Any fixed number; every replica's evaluator tries it, one at a time gets it.
EVALUATOR_LOCK_KEY = 0x766F635F616C7274  # "voc_alrt"
FIGURE_COLUMNS = (
    "window_value", "window_n", "baseline_value", "baseline_n", "difference", "ci_low",
    "ci_high", "statistic", "p_value",
)  # fmt: skip
_WINDOW_COLUMNS = ("window_start", "window_end", "baseline_start", "baseline_end")
_OPEN = alerts.c.status == "open"


@dataclass(frozen=True, slots=True)
class TouchpointParts:
    window: Parts
    baseline: Parts


async def try_lock(session: AsyncSession) -> bool:
    """The evaluator's advisory lock for this transaction, if no other replica holds it."""
    stmt = text("SELECT pg_try_advisory_xact_lock(:key)")
    return bool((await session.execute(stmt, {"key": EVALUATOR_LOCK_KEY})).scalar_one())


# The slice alerts read: every touchpoint's parts per hour, split by audience.
TOUCHPOINT_SLICE = "touchpoint"
assert SLICES_BY_NAME[TOUCHPOINT_SLICE].grain == "hour"


def _sum(column: str, where: Any) -> Any:
    kind = Float if column in FLOAT_MEASURES else BigInteger
    return cast(func.coalesce(func.sum(score_slices.c[column]).filter(where), 0), kind)


def touchpoint_parts_statement(w: Windows) -> Select[Any]:
    r = score_slices.c
    in_window = r.bucket_start >= w.window_start
    in_baseline = r.bucket_start < w.window_start
    return (
        select(
            r.touchpoint,
            *(_sum(k, in_window).label(f"w_{k}") for k in PART_KEYS),
            *(_sum(k, in_baseline).label(f"b_{k}") for k in PART_KEYS),
        )
        .where(
            r.slice == TOUCHPOINT_SLICE,
            r.bucket_start >= w.baseline_start,
            r.bucket_start < w.window_end,
            # Customer metrics only: employee surveys are eNPS, which alerts do not watch.
            r.audience != "employee",
        )
        .group_by(r.touchpoint)
    )


async def touchpoint_parts(session: AsyncSession, w: Windows) -> dict[str, TouchpointParts]:
    """Per touchpoint, the summed rollup parts of the window and of the baseline."""
    rows = (await session.execute(touchpoint_parts_statement(w))).mappings()
    return {
        row["touchpoint"]: TouchpointParts(
            window={k: row[f"w_{k}"] for k in PART_KEYS},
            baseline={k: row[f"b_{k}"] for k in PART_KEYS},
        )
        for row in rows
    }


async def open_alerts(session: AsyncSession) -> dict[tuple[str, str], dict[str, Any]]:
    """Open alerts by (touchpoint, metric)."""
    rows = (await session.execute(select(alerts).where(_OPEN))).mappings()
    return {(row["touchpoint"], row["metric"]): dict(row) for row in rows}


async def open_alert(session: AsyncSession, values: Mapping[str, Any]) -> tuple[UUID, bool]:
    """Insert an open alert, or refresh the one already open for its (touchpoint, metric).

    Returns its id and whether it is new. The partial unique index makes a second open row for
    the same pair impossible, even for two evaluators that both missed the advisory lock.
    """
    new = insert(alerts).values(**values)
    refreshed = (*FIGURE_COLUMNS, *_WINDOW_COLUMNS, "last_evaluated_at")
    stmt = new.on_conflict_do_update(
        index_elements=[alerts.c.touchpoint, alerts.c.metric],
        index_where=_OPEN,
        set_={c: new.excluded[c] for c in refreshed},
    ).returning(alerts.c.id, literal_column("(xmax = 0)").label("inserted"))
    row = (await session.execute(stmt)).one()
    return row.id, bool(row.inserted)


async def refresh_alerts(session: AsyncSession, updates: Sequence[Mapping[str, Any]]) -> None:
    """Write the latest figures of open alerts, one statement for all (keyed by `alert_id`)."""
    if not updates:
        return
    columns = (*FIGURE_COLUMNS, *_WINDOW_COLUMNS, "last_evaluated_at")
    stmt = text(
        "UPDATE alerts SET "
        + ", ".join(f"{c} = :{c}" for c in columns)
        + " WHERE id = :alert_id AND status = 'open'"
    )
    await session.execute(stmt, list(updates))


async def resolve_alert(
    session: AsyncSession, alert_id: UUID, values: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Resolve an open alert with the figures at resolution; its row, or None if not open."""
    stmt = (
        alerts.update()
        .where(alerts.c.id == alert_id, _OPEN)
        .values(status="resolved", **values)
        .returning(alerts)
    )
    row = (await session.execute(stmt)).mappings().one_or_none()
    return None if row is None else dict(row)


async def add_notification(
    session: AsyncSession,
    *,
    alert_id: UUID,
    event: str,
    team: str,
    payload: Mapping[str, Any],
    deliver: bool,
    now: datetime,
) -> UUID:
    """The outbox row of an alert change, in the transaction that made the change."""
    delivery_id = uuid.uuid4()
    await session.execute(
        alert_notifications.insert().values(
            id=delivery_id,
            alert_id=alert_id,
            event=event,
            team=team,
            status="pending" if deliver else "skipped",
            payload={**payload, "delivery_id": str(delivery_id)},
            next_attempt_at=now,
            finished_at=None if deliver else now,
        )
    )
    return delivery_id


async def open_alert_labels(session: AsyncSession) -> list[tuple[str, str, str]]:
    """(touchpoint, metric, team) of every open alert: what the gauge shows."""
    a = alerts.c
    rows = await session.execute(select(a.touchpoint, a.metric, a.team).where(_OPEN))
    return [(r.touchpoint, r.metric, r.team) for r in rows]


async def claim_pending(session: AsyncSession, limit: int) -> list[dict[str, Any]]:
    """Pending notifications that are due, locked for this transaction; other replicas skip
    them, so each is sent by one notifier at a time."""
    n = alert_notifications.c
    stmt = (
        select(n.id, n.event, n.team, n.payload, n.attempts)
        .where(n.status == "pending", n.next_attempt_at <= func.now())
        .order_by(n.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [dict(row) for row in (await session.execute(stmt)).mappings()]


async def record_attempt(
    session: AsyncSession,
    delivery_id: UUID,
    *,
    status: str,
    status_code: int | None,
    error: str | None,
    retry_in_s: float | None = None,
) -> None:
    """One delivery attempt: delivered/failed (finished), or pending again in `retry_in_s`."""
    n = alert_notifications.c
    values: dict[str, Any] = {
        "status": status,
        "attempts": n.attempts + 1,
        "last_status_code": status_code,
        "last_error": error,
    }
    if retry_in_s is None:
        values["finished_at"] = func.clock_timestamp()
    else:
        # clock_timestamp, not now(): the transaction began before the HTTP request.
        delay = func.make_interval(0, 0, 0, 0, 0, 0, retry_in_s)
        values["next_attempt_at"] = func.clock_timestamp() + delay
    await session.execute(alert_notifications.update().where(n.id == delivery_id).values(**values))


async def skip(session: AsyncSession, delivery_id: UUID) -> None:
    n = alert_notifications.c
    await session.execute(
        alert_notifications.update()
        .where(n.id == delivery_id)
        .values(status="skipped", finished_at=func.clock_timestamp())
    )
