"""More day-grain slices: stage_day, topic_day (shared.tables.SLICES).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 18:00:00+00:00

Day twins of the slices unfiltered queries read: overall scores per day (`stage`) and scores by
topic without a touchpoint (`topic`). A year of either read ~87k / ~210k hourly rows; the day
twin holds 24x fewer. No schema change, as at 0009: the rows share score_slices with the hourly
ones, bucket_start at the UTC midnight.

The slice list is frozen here, not read from shared.tables, and so is the backfill: 0009's
statement, copied so this revision never changes with another file. The upgrade sums each day
slice from its hourly twin (the writer keeps the twin equal to the facts; `voc rollups-rebuild
--slices-only` does the same), in primary-key order. Run it with the metrics writers stopped
(docker-compose's `migrate` job runs before them); the lock below holds off any that are not.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
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
# The day slices added at this revision, as (name, dimensions, hourly twin).
SLICES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("stage_day", ("journey_stage", "audience"), "stage"),
    ("topic_day", ("topic", "audience"), "topic"),
)
DAY = "date_trunc('day', bucket_start, 'UTC')"


def _backfill_sql(name: str, dims: tuple[str, ...], twin: str) -> str:
    picks = ", ".join(d if d in dims else "''" for d in DIMENSIONS)
    sums = ", ".join(f"sum({m})" for m in MEASURES)
    columns = ", ".join(("slice", *DIMENSIONS, "bucket_start", *MEASURES))
    kept = [d for d in DIMENSIONS if d in dims]
    groups = ", ".join((DAY, *kept))
    return (
        f"INSERT INTO score_slices ({columns}) SELECT '{name}', {picks}, {DAY}, {sums} "
        f"FROM score_slices WHERE slice = '{twin}' AND n > 0 "
        f"GROUP BY {groups} ORDER BY {', '.join((*kept, DAY))}"
    )


def upgrade() -> None:
    op.execute("LOCK TABLE feedback_facts, score_rollups, score_slices IN SHARE ROW EXCLUSIVE MODE")
    # Hash aggregates over a large twin stay in memory.
    op.execute("SET LOCAL work_mem = '256MB'")
    for name, dims, twin in SLICES:
        op.execute(_backfill_sql(name, dims, twin))
    op.execute("ANALYZE score_slices")


def downgrade() -> None:
    names = ", ".join(f"'{name}'" for name, _, _ in SLICES)
    op.execute(f"DELETE FROM score_slices WHERE slice IN ({names})")
