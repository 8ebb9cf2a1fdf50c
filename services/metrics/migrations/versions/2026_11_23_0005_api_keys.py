"""api_keys: the BI API's keys, hashed at rest, with scopes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 13:00:00+00:00

The api service reads through the read-only `voc_reader` role in docker-compose
(deploy/postgres/initdb/10-reader-role.sql), which gets SELECT on new tables by default
privileges. Its one write is a key's last_used_at, so where that role exists it is granted UPDATE
on that column only; the secret hashes, names, scopes and revocations stay out of its reach.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("secret_sha256", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("created_at", tz, nullable=False, server_default=sa.func.now()),
        sa.Column("revoked_at", tz, nullable=True),
        sa.Column("last_used_at", tz, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    op.execute(
        """
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'voc_reader') THEN
                GRANT UPDATE (last_used_at) ON api_keys TO voc_reader;
            END IF;
        END
        $$
        """
    )


def downgrade() -> None:
    op.drop_table("api_keys")
