"""GIN index on feedback_facts.topics, for verbatims filtered by topic (JSONB containment).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # jsonb_path_ops: smaller and faster than the default opclass, and @> is all the API uses.
    op.create_index(
        "ix_feedback_facts_topics",
        "feedback_facts",
        ["topics"],
        postgresql_using="gin",
        postgresql_ops={"topics": "jsonb_path_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_feedback_facts_topics", table_name="feedback_facts")
