"""score_slices: hourly rollups over a few dimensions each (shared.tables.SLICES), topic included.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:00:00+00:00

The column and slice lists are frozen here, not read from shared.tables, so this revision means
the same thing whatever the code later becomes.

The upgrade backfills the slices of a deployment that has data, with the SQL of
services.metrics.rebuild (`voc rollups-rebuild --slices-only`) copied as of this revision: the
slices without topic are sums of the existing score_rollups (which the writer keeps equal to the
facts), the topic slices come from the live facts' distinct topic labels (topic '' for a fact
without topics). Run it with the metrics writers stopped (docker-compose's `migrate` job runs
before them); the lock below holds off any that are not.
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
# shared.tables.SLICES at this revision, as (name, dimensions).
SLICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("touchpoint", ("touchpoint", "journey_stage", "audience")),
    ("stage", ("journey_stage", "audience")),
    ("channel", ("channel", "audience")),
    ("touchpoint_channel", ("touchpoint", "journey_stage", "channel", "audience")),
    (
        "touchpoint_survey",
        ("touchpoint", "journey_stage", "source_kind", "survey_type", "audience"),
    ),
    ("topic", ("topic", "audience")),
    ("topic_touchpoint", ("topic", "touchpoint", "journey_stage", "audience")),
    ("topic_channel", ("topic", "channel", "audience")),
)
_SCORED = "f.sentiment_score IS NOT NULL AND NOT f.unscored"
FACT_AGGREGATES = {
    "n": "count(*)",
    "nps_n": "count(f.nps)",
    "nps_promoters": "count(*) FILTER (WHERE f.nps >= 9)",
    "nps_passives": "count(*) FILTER (WHERE f.nps >= 7 AND f.nps < 9)",
    "nps_detractors": "count(*) FILTER (WHERE f.nps < 7)",
    "csat_n": "count(f.csat)",
    "csat_sum": "coalesce(sum(f.csat), 0)",
    "csat_satisfied": "count(*) FILTER (WHERE f.csat >= 4)",
    "ces_n": "count(f.ces)",
    "ces_sum": "coalesce(sum(f.ces), 0)",
    "ces_easy": "count(*) FILTER (WHERE f.ces >= 5)",
    "stars_n": "count(f.stars)",
    "stars_sum": "coalesce(sum(f.stars), 0)",
    "sentiment_n": f"count(*) FILTER (WHERE {_SCORED})",
    "sentiment_sum": f"coalesce(sum(f.sentiment_score) FILTER (WHERE {_SCORED}), 0)",
    "sentiment_negative": f"count(*) FILTER (WHERE {_SCORED} AND f.sentiment_label = 'negative')",
    "ces_sumsq": "coalesce(sum(f.ces::int * f.ces), 0)",
    "stars_sumsq": "coalesce(sum(f.stars::int * f.stars), 0)",
    "sentiment_sumsq": (
        f"coalesce(sum(f.sentiment_score * f.sentiment_score) FILTER (WHERE {_SCORED}), 0)"
    ),
}
TOPIC_BASE = "backfill_topic_base"


def _topic_base_sql() -> str:
    kept = {d for _, dims in SLICES if "topic" in dims for d in dims}
    others = [f"f.{d}" for d in DIMENSIONS if d in kept and d != "topic"]
    groups = ", ".join(["f.bucket_start", "coalesce(t.label, '')", *others])
    picks = ", ".join(["f.bucket_start", "coalesce(t.label, '') AS topic", *others])
    measures = ", ".join(f"{FACT_AGGREGATES[m]} AS {m}" for m in MEASURES)
    return f"""
        CREATE TEMPORARY TABLE {TOPIC_BASE} ON COMMIT DROP AS
        SELECT {picks}, {measures}
        FROM feedback_facts AS f
        LEFT JOIN LATERAL (
            SELECT DISTINCT e.value ->> 'label' AS label
            FROM jsonb_array_elements(
                CASE jsonb_typeof(f.topics) WHEN 'array' THEN f.topics ELSE '[]'::jsonb END
            ) AS e
            WHERE jsonb_typeof(e.value -> 'label') = 'string'
        ) AS t ON true
        WHERE NOT f.deleted
        GROUP BY {groups}
        """


def _slice_sql(name: str, dims: tuple[str, ...], source: str) -> str:
    picks = ", ".join(d if d in dims else "''" for d in DIMENSIONS)
    sums = ", ".join(f"sum({m})" for m in MEASURES)
    columns = ", ".join(("slice", *DIMENSIONS, "bucket_start", *MEASURES))
    groups = ", ".join(("bucket_start", *dims))
    return (
        f"INSERT INTO score_slices ({columns}) SELECT '{name}', {picks}, bucket_start, {sums} "
        f"FROM {source} WHERE n > 0 GROUP BY {groups}"
    )


def backfill() -> None:
    op.execute("LOCK TABLE feedback_facts, score_rollups, score_slices IN SHARE ROW EXCLUSIVE MODE")
    op.execute(_topic_base_sql())
    for name, dims in SLICES:
        op.execute(_slice_sql(name, dims, TOPIC_BASE if "topic" in dims else "score_rollups"))
    op.execute(f"DROP TABLE {TOPIC_BASE}")


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
    backfill()


def downgrade() -> None:
    op.drop_table("score_slices")
