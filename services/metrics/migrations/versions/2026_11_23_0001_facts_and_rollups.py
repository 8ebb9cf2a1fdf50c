"""Feedback facts and score rollups.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 10:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIMENSIONS = (
    "touchpoint",
    "journey_stage",
    "source_kind",
    "channel",
    "segment",
    "language",
    "survey_type",
    "audience",
)
COUNT_MEASURES = (
    "n",
    "nps_n",
    "nps_promoters",
    "nps_passives",
    "nps_detractors",
    "csat_n",
    "csat_sum",
    "csat_satisfied",
    "ces_n",
    "ces_sum",
    "ces_easy",
    "stars_n",
    "stars_sum",
    "sentiment_n",
)


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "feedback_facts",
        sa.Column("feedback_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("revision", sa.Text(), nullable=False),
        sa.Column("revision_rank", sa.BigInteger(), nullable=False),
        sa.Column("received_at", tz, nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("source_kind", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=False),
        sa.Column("occurred_at", tz, nullable=False),
        sa.Column("bucket_start", tz, nullable=False),
        sa.Column("touchpoint", sa.Text(), nullable=False),
        sa.Column("journey_stage", sa.Text(), nullable=False),
        sa.Column("touchpoint_rule", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False, server_default=""),
        sa.Column("segment", sa.Text(), nullable=False, server_default=""),
        sa.Column("language", sa.Text(), nullable=False, server_default=""),
        sa.Column("survey_type", sa.Text(), nullable=False, server_default=""),
        sa.Column("audience", sa.Text(), nullable=False, server_default=""),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("nps", sa.SmallInteger(), nullable=True),
        sa.Column("csat", sa.SmallInteger(), nullable=True),
        sa.Column("ces", sa.SmallInteger(), nullable=True),
        sa.Column("stars", sa.SmallInteger(), nullable=True),
        sa.Column("sentiment_label", sa.Text(), nullable=True),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("sentiment_confidence", sa.Float(), nullable=True),
        sa.Column("primary_topic", sa.Text(), nullable=True),
        sa.Column("topics", postgresql.JSONB(), nullable=False, server_default="[]"),
        sa.Column("redacted_text", sa.Text(), nullable=True),
        sa.Column("language_confidence", sa.Float(), nullable=True),
        sa.Column("unscored", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("unscored_reason", sa.Text(), nullable=True),
        sa.Column("model_version", sa.Text(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("updated_at", tz, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("feedback_id", name="pk_feedback_facts"),
    )
    op.create_index(
        "ix_feedback_facts_occurred_at_id", "feedback_facts", ["occurred_at", "feedback_id"]
    )
    op.create_index(
        "ix_feedback_facts_touchpoint_occurred_at", "feedback_facts", ["touchpoint", "occurred_at"]
    )

    op.create_table(
        "score_rollups",
        sa.Column("bucket_start", tz, nullable=False),
        *(sa.Column(d, sa.Text(), nullable=False) for d in DIMENSIONS),
        *(
            sa.Column(m, sa.BigInteger(), nullable=False, server_default="0")
            for m in COUNT_MEASURES
        ),
        sa.Column("sentiment_sum", sa.Float(), nullable=False, server_default="0"),
        sa.Column("sentiment_negative", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("bucket_start", *DIMENSIONS, name="pk_score_rollups"),
    )
    op.create_index(
        "ix_score_rollups_touchpoint_bucket", "score_rollups", ["touchpoint", "bucket_start"]
    )


def downgrade() -> None:
    op.drop_index("ix_score_rollups_touchpoint_bucket", table_name="score_rollups")
    op.drop_table("score_rollups")
    op.drop_index("ix_feedback_facts_touchpoint_occurred_at", table_name="feedback_facts")
    op.drop_index("ix_feedback_facts_occurred_at_id", table_name="feedback_facts")
    op.drop_table("feedback_facts")
