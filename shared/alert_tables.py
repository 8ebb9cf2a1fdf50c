"""Storage contract of score-drop alerts: the metrics service's evaluator writes, the api reads.

`alerts` holds one row per alert episode of a (touchpoint, metric): open while the drop lasts,
then resolved and kept for history. A partial unique index allows at most one open row per
(touchpoint, metric), which is what de-duplicates alerts across replicas and restarts.
`alert_notifications` is the transactional outbox of webhook deliveries: written in the same
transaction that opens or resolves an alert, delivered later by the notifier. Registered on
shared.tables' `metadata`, so Alembic and the tests see these tables with the others.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.tables import metadata

ALERT_STATUSES = ("open", "resolved")
# pending: to be sent; delivered: a 2xx came back; failed: given up; skipped: no webhook for
# the owning team when the alert changed.
NOTIFICATION_STATUSES = ("pending", "delivered", "failed", "skipped")
NOTIFICATION_EVENTS = ("opened", "resolved")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


alerts = Table(
    "alerts",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")),
    Column("touchpoint", Text, nullable=False),
    Column("metric", Text, nullable=False),
    Column("team", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("test", Text, nullable=False),
    Column("level", Float, nullable=False),
    Column("min_n", Integer, nullable=False),
    # The latest evaluation's figures while open; frozen at resolution.
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("baseline_start", DateTime(timezone=True), nullable=False),
    Column("baseline_end", DateTime(timezone=True), nullable=False),
    Column("window_value", Float),
    Column("window_n", BigInteger, nullable=False),
    Column("baseline_value", Float),
    Column("baseline_n", BigInteger, nullable=False),
    Column("difference", Float),
    Column("ci_low", Float),
    Column("ci_high", Float),
    Column("statistic", Float),
    Column("p_value", Float),
    # The same figures as they were when the alert opened (what the "opened" webhook said).
    Column("opened_figures", JSONB, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("last_evaluated_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    CheckConstraint(_in("status", ALERT_STATUSES), name="status"),
    Index(
        "uq_alerts_open_touchpoint_metric",
        "touchpoint",
        "metric",
        unique=True,
        postgresql_where=text("status = 'open'"),
    ),
    # GET /v1/alerts: newest first, keyset-paged on (opened_at, id).
    Index("ix_alerts_opened_at_id", "opened_at", "id"),
)

alert_notifications = Table(
    "alert_notifications",
    metadata,
    # Also the X-VoC-Delivery header: receivers dedupe retries by it.
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("alert_id", UUID(as_uuid=True), ForeignKey("alerts.id"), nullable=False),
    Column("event", Text, nullable=False),
    Column("team", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("attempts", SmallInteger, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_status_code", SmallInteger),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    CheckConstraint(_in("status", NOTIFICATION_STATUSES), name="status"),
    CheckConstraint(_in("event", NOTIFICATION_EVENTS), name="event"),
    Index("ix_alert_notifications_alert_id", "alert_id"),
    Index(
        "ix_alert_notifications_pending",
        "next_attempt_at",
        postgresql_where=text("status = 'pending'"),
    ),
)
