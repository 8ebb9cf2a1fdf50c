"""Indexes for `GET /v1/feedback?order=most_negative`: top negative verbatims (per touchpoint).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 15:00:00+00:00

Partial: only live, scored facts can be listed in that order, and the predicate is the query's own
(`deleted IS false AND sentiment_score IS NOT NULL`), so the planner can use them. Alembic runs a
revision in a transaction, where CREATE INDEX CONCURRENTLY is not allowed: on a large live table,
create both indexes CONCURRENTLY by hand first (same names); this revision then skips them.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = "deleted IS false AND sentiment_score IS NOT NULL"
INDEXES = {
    "ix_feedback_facts_most_negative": "sentiment_score, occurred_at DESC, feedback_id DESC",
    "ix_feedback_facts_touchpoint_most_negative": (
        "touchpoint, sentiment_score, occurred_at DESC, feedback_id DESC"
    ),
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON feedback_facts ({columns}) WHERE {WHERE}")


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
