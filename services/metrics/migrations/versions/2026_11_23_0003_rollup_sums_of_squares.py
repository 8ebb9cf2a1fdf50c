"""Sums of squares in the rollups (ces, stars, sentiment), backfilled from the live facts.

With n and the sum they give each group's variance, so the api can serve t-intervals and Welch
tests from the rollups alone. The backfill recomputes them from feedback_facts, which hold every
item's latest live revision, with the same rules as the writer's contributions: a fact counts
when not deleted, its ces/stars when present, its sentiment when scored.

Run it with the metrics writers stopped (docker-compose's `migrate` job runs before them), and
start writers that fill the new columns: rows an older writer touches afterwards would miss
their squares, and the api would then show no interval for those groups rather than a wrong one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = (
    "bucket_start",
    "touchpoint",
    "journey_stage",
    "source_kind",
    "channel",
    "segment",
    "language",
    "survey_type",
    "audience",
)
COLUMNS: tuple[tuple[str, type[sa.types.TypeEngine[Any]]], ...] = (
    ("ces_sumsq", sa.BigInteger),
    ("stars_sumsq", sa.BigInteger),
    ("sentiment_sumsq", sa.Float),
)


def upgrade() -> None:
    for name, kind in COLUMNS:
        op.add_column("score_rollups", sa.Column(name, kind(), nullable=False, server_default="0"))
    keys = ", ".join(KEY)
    matches = " AND ".join(f"r.{k} = s.{k}" for k in KEY)
    op.execute(
        f"""
        UPDATE score_rollups AS r
        SET ces_sumsq = s.ces_sumsq, stars_sumsq = s.stars_sumsq,
            sentiment_sumsq = s.sentiment_sumsq
        FROM (
            SELECT {keys},
                   coalesce(sum(ces::bigint * ces), 0) AS ces_sumsq,
                   coalesce(sum(stars::bigint * stars), 0) AS stars_sumsq,
                   coalesce(sum(sentiment_score * sentiment_score)
                            FILTER (WHERE NOT unscored), 0) AS sentiment_sumsq
            FROM feedback_facts
            WHERE NOT deleted
            GROUP BY {keys}
        ) AS s
        WHERE {matches}
        """
    )


def downgrade() -> None:
    for name, _ in reversed(COLUMNS):
        op.drop_column("score_rollups", name)
