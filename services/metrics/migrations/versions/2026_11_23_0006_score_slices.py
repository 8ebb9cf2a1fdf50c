"""score_slices: hourly rollups over a few dimensions each (shared.tables.SLICES), topic included.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:00:00+00:00

The column list is frozen here, not read from shared.tables, so this revision means the same
thing whatever the code later becomes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIMENSIONS = (
    "topic",
    "touchpoint",
    "journey_stage",
    "source_kind",
    "channel",
    "segment",
    "language",
    "survey_type",
    "audience",
)
MEASURES = (
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
    "sentiment_sum",
    "sentiment_negative",
    "ces_sumsq",
    "stars_sumsq",
    "sentiment_sumsq",
)
FLOAT_MEASURES = frozenset({"sentiment_sum", "sentiment_sumsq"})


def upgrade() -> None:
    op.create_table(
        "score_slices",
        sa.Column("slice", sa.Text(), nullable=False),
        *(sa.Column(d, sa.Text(), nullable=False) for d in DIMENSIONS),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        *(
            sa.Column(
                m,
                sa.Float() if m in FLOAT_MEASURES else sa.BigInteger(),
                nullable=False,
                server_default="0",
            )
            for m in MEASURES
        ),
        sa.PrimaryKeyConstraint("slice", *DIMENSIONS, "bucket_start", name="pk_score_slices"),
    )


def downgrade() -> None:
    op.drop_table("score_slices")
