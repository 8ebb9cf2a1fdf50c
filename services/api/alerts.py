"""GET /v1/alerts: the score-drop alerts the metrics service's evaluator writes. Read-only.

Newest first, keyset-paged on (opened_at, id) like /v1/feedback, so a page never repeats or
skips an alert when new ones open meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import structlog
from fastapi import APIRouter, Depends, Query
from sqlalchemy import Select, select
from sqlalchemy import tuple_ as row_value
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import DBAPIError

from services.api.alerts_schemas import (
    AlertFigures,
    AlertItem,
    AlertNotification,
    AlertsPage,
    AlertWindow,
)
from services.api.api import RESPONSES
from services.api.auth import requires
from services.api.deps import SessionDep, SettingsDep
from services.api.keys import SCORES_READ
from services.api.params import cursor_param, dimension_filter, invalid
from services.api.repository import is_unavailable
from shared.alert_tables import alert_notifications, alerts
from shared.errors import DatabaseUnavailable

log = structlog.get_logger(__name__)

StatusFilter = Literal["open", "resolved", "all"]
AlertMetric = Literal["nps", "csat", "ces", "stars", "sentiment"]
Row = Mapping[str, Any] | RowMapping
PAGE = (50, 500)  # alerts per page: default, most


@dataclass(frozen=True, slots=True)
class AlertKey:
    opened_at: datetime
    id: UUID


@dataclass(frozen=True, slots=True)
class AlertQuery:
    status: StatusFilter = "open"
    touchpoint: str | None = None
    team: str | None = None
    metric: str | None = None
    limit: int = PAGE[0]
    after: AlertKey | None = None


def encode_key(key: AlertKey) -> str:
    raw = json.dumps([key.opened_at.isoformat(), str(key.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_key(token: str) -> AlertKey:
    """The inverse of encode_key; ValueError on anything it did not produce."""
    try:
        opened_at, alert_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        moment = datetime.fromisoformat(opened_at)
        if moment.tzinfo is None:
            raise ValueError("cursor time without zone")
        return AlertKey(moment.astimezone(UTC), UUID(alert_id))
    except (binascii.Error, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise ValueError("malformed cursor; pass next_cursor from a previous page") from exc


def alert_query(
    status: Annotated[
        StatusFilter, Query(description="open (default), resolved, or all.")
    ] = "open",
    touchpoint: Annotated[str | None, dimension_filter("touchpoint")] = None,
    team: Annotated[str | None, dimension_filter("owning team")] = None,
    metric: Annotated[AlertMetric | None, Query(description="Only alerts on this metric.")] = None,
    limit: Annotated[
        int, Query(ge=1, le=PAGE[1], description=f"Alerts per page, at most {PAGE[1]}.")
    ] = PAGE[0],
    cursor: Annotated[str | None, cursor_param()] = None,
) -> AlertQuery:
    after = None
    if cursor:
        try:
            after = decode_key(cursor)
        except ValueError as exc:
            raise invalid("cursor", str(exc), cursor) from None
    return AlertQuery(status, touchpoint or None, team or None, metric, limit, after)


AlertQueryDep = Annotated[AlertQuery, Depends(alert_query)]


def alerts_statement(query: AlertQuery) -> Select[Any]:
    """Up to limit + 1 alerts: the extra one only says another page exists."""
    a = alerts.c
    stmt = select(alerts)
    if query.status != "all":
        stmt = stmt.where(a.status == query.status)
    for column, value in (("touchpoint", query.touchpoint), ("team", query.team),
                          ("metric", query.metric)):  # fmt: skip
        if value is not None:
            stmt = stmt.where(a[column] == value)
    if query.after is not None:
        stmt = stmt.where(row_value(a.opened_at, a.id) < (query.after.opened_at, query.after.id))
    return stmt.order_by(a.opened_at.desc(), a.id.desc()).limit(query.limit + 1)


def notifications_statement(alert_ids: Sequence[UUID]) -> Select[Any]:
    n = alert_notifications.c
    return (
        select(alert_notifications)
        .where(n.alert_id.in_(alert_ids))
        .order_by(n.alert_id, n.created_at, n.id)
    )


def alert_item(row: Row, notes: Sequence[Row]) -> AlertItem:
    notifications = [AlertNotification.model_validate(dict(n)) for n in notes]
    return AlertItem(
        **{k: row[k] for k in AlertItem.model_fields if k in row},
        window=AlertWindow(
            start=row["window_start"], end=row["window_end"],
            value=row["window_value"], n=row["window_n"],
        ),
        baseline=AlertWindow(
            start=row["baseline_start"], end=row["baseline_end"],
            value=row["baseline_value"], n=row["baseline_n"],
        ),
        at_open=AlertFigures.model_validate(row["opened_figures"]),
        notification_status=notifications[-1].status if notifications else None,
        notifications=notifications,
    )  # fmt: skip


def alerts_page(rows: Sequence[Row], notes: Sequence[Row], limit: int) -> AlertsPage:
    page = rows[:limit]
    by_alert: dict[UUID, list[Row]] = {}
    for note in notes:
        by_alert.setdefault(note["alert_id"], []).append(note)
    next_cursor = None
    if len(rows) > limit and page:
        next_cursor = encode_key(AlertKey(page[-1]["opened_at"], page[-1]["id"]))
    items = [alert_item(r, by_alert.get(r["id"], [])) for r in page]
    return AlertsPage(items=items, next_cursor=next_cursor)


async def _read(session: SessionDep, timeout_s: float, stmt: Select[Any]) -> Sequence[RowMapping]:
    try:
        async with asyncio.timeout(timeout_s):
            return (await session.execute(stmt)).mappings().all()
    except (OSError, DBAPIError) as exc:
        if not is_unavailable(exc):
            raise
        log.warning("api.database_unavailable", error=type(exc).__name__)
        raise DatabaseUnavailable("the database is unavailable; retry later") from exc


router = APIRouter(prefix="/v1", tags=["alerts"], responses=RESPONSES)


@router.get(
    "/alerts",
    response_model=AlertsPage,
    dependencies=[requires(SCORES_READ)],
    responses={
        200: {
            "description": "Score-drop alerts, newest first, each with its window and baseline "
            "figures, the one-sided test and its webhook notifications."
        }
    },
)
async def list_alerts(
    query: AlertQueryDep, session: SessionDep, settings: SettingsDep
) -> AlertsPage:
    """Score-drop alerts: open by default; filter by status, touchpoint, team and metric."""
    rows = await _read(session, settings.query_timeout_s, alerts_statement(query))
    ids = [r["id"] for r in rows[: query.limit]]
    notes = (
        await _read(session, settings.query_timeout_s, notifications_statement(ids)) if ids else []
    )
    return alerts_page(rows, notes, query.limit)
