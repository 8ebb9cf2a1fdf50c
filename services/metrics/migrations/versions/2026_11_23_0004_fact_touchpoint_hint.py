"""feedback_facts.touchpoint_hint: the source's own touchpoint, kept for remapping.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:00:00+00:00

Facts written before this revision have no hint (NULL): a remap treats them as having none,
which is what they were resolved with unless their rule was 'explicit'. For those, the resolved
touchpoint is the hint, so it is copied over.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("feedback_facts", sa.Column("touchpoint_hint", sa.Text(), nullable=True))
    op.execute(
        "UPDATE feedback_facts SET touchpoint_hint = touchpoint WHERE touchpoint_rule = 'explicit'"
    )


def downgrade() -> None:
    op.drop_column("feedback_facts", "touchpoint_hint")
