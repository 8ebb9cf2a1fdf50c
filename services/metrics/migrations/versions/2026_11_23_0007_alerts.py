"""alerts and alert_notifications: score-drop alerts and their webhook outbox.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 15:00:00+00:00

The partial unique index on (touchpoint, metric) WHERE status = 'open' is what keeps one open
alert per touchpoint and metric, whichever replica evaluates. The columns are frozen here, not
read from shared.alert_tables, so this revision means the same thing whatever the code becomes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    uuid = postgresql.UUID(as_uuid=True)
    op.create_table(
        "alerts",
        sa.Column("id", uuid, nullable=False, server_default=sa.text("gen_random_uuid()")),
        sa.Column("touchpoint", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("test", sa.Text(), nullable=False),
        sa.Column("level", sa.Float(), nullable=False),
        sa.Column("min_n", sa.Integer(), nullable=False),
        sa.Column("window_start", tz, nullable=False),
        sa.Column("window_end", tz, nullable=False),
        sa.Column("baseline_start", tz, nullable=False),
        sa.Column("baseline_end", tz, nullable=False),
        sa.Column("window_value", sa.Float(), nullable=True),
        sa.Column("window_n", sa.BigInteger(), nullable=False),
        sa.Column("baseline_value", sa.Float(), nullable=True),
        sa.Column("baseline_n", sa.BigInteger(), nullable=False),
        sa.Column("difference", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("statistic", sa.Float(), nullable=True),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("opened_figures", postgresql.JSONB(), nullable=False),
        sa.Column("opened_at", tz, nullable=False),
        sa.Column("last_evaluated_at", tz, nullable=False),
        sa.Column("resolved_at", tz, nullable=True),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_alerts_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(
        "uq_alerts_open_touchpoint_metric",
        "alerts",
        ["touchpoint", "metric"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_alerts_opened_at_id", "alerts", ["opened_at", "id"])
    op.create_table(
        "alert_notifications",
        sa.Column("id", uuid, nullable=False),
        sa.Column("alert_id", uuid, nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", tz, nullable=False),
        sa.Column("last_status_code", sa.SmallInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", tz, nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", tz, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed', 'skipped')",
            name=op.f("ck_alert_notifications_status"),
        ),
        sa.CheckConstraint(
            "event IN ('opened', 'resolved')", name=op.f("ck_alert_notifications_event")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_notifications_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_notifications")),
    )
    op.create_index("ix_alert_notifications_alert_id", "alert_notifications", ["alert_id"])
    op.create_index(
        "ix_alert_notifications_pending",
        "alert_notifications",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("alert_notifications")
    op.drop_table("alerts")
