"""Storage contract: the tables the metrics writer owns and the api service reads.

Rollups hold additive parts (counts and sums) per hour bucket x dimensions, so any coarser
window or grouping is a SUM and increments commute. Missing dimension values are stored as ''
(they are part of the rollup's primary key); the API renders them as null.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    LargeBinary,
    MetaData,
    SmallInteger,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# The rollup dimensions, in primary-key order. The API may group and filter by any of them.
ROLLUP_DIMENSIONS = (
    "touchpoint",
    "journey_stage",
    "source_kind",
    "channel",
    "segment",
    "language",
    "survey_type",
    "audience",
)

# Additive parts of one rollup row; a fact contributes to exactly one row.
ROLLUP_MEASURES = (
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
    # Sums of squares: with n and the sum they give the variance, for t-intervals and Welch tests.
    "ces_sumsq",
    "stars_sumsq",
    "sentiment_sumsq",
)
# Measures summing real numbers (sentiment scores); every other measure is an integer count/sum.
FLOAT_MEASURES = frozenset({"sentiment_sum", "sentiment_sumsq"})

feedback_facts = Table(
    "feedback_facts",
    metadata,
    Column("feedback_id", UUID(as_uuid=True), primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("revision", Text, nullable=False),
    Column("revision_rank", BigInteger, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("deleted", Boolean, nullable=False, server_default="false"),
    Column("source_kind", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("source_id", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("bucket_start", DateTime(timezone=True), nullable=False),
    Column("touchpoint", Text, nullable=False),
    Column("journey_stage", Text, nullable=False),
    Column("touchpoint_rule", Text, nullable=False),
    # The source's own touchpoint, as sent: remapping after a journey-rule change starts here.
    Column("touchpoint_hint", Text),
    Column("channel", Text, nullable=False, server_default=""),
    Column("segment", Text, nullable=False, server_default=""),
    Column("language", Text, nullable=False, server_default=""),
    Column("survey_type", Text, nullable=False, server_default=""),
    Column("audience", Text, nullable=False, server_default=""),
    Column("customer_id", Text),
    Column("nps", SmallInteger),
    Column("csat", SmallInteger),
    Column("ces", SmallInteger),
    Column("stars", SmallInteger),
    Column("sentiment_label", Text),
    Column("sentiment_score", Float),
    Column("sentiment_confidence", Float),
    Column("primary_topic", Text),
    Column("topics", JSONB, nullable=False, server_default="[]"),
    Column("redacted_text", Text),
    Column("language_confidence", Float),
    Column("unscored", Boolean, nullable=False, server_default="false"),
    Column("unscored_reason", Text),
    Column("model_version", Text, nullable=False),
    Column("metadata", JSONB, nullable=False, server_default="{}"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_feedback_facts_occurred_at_id", "occurred_at", "feedback_id"),
    Index("ix_feedback_facts_touchpoint_occurred_at", "touchpoint", "occurred_at"),
    # GET /v1/feedback?order=most_negative: live, scored facts, lowest sentiment first.
    Index(
        "ix_feedback_facts_most_negative",
        "sentiment_score",
        text("occurred_at DESC"),
        text("feedback_id DESC"),
        postgresql_where=text("deleted IS false AND sentiment_score IS NOT NULL"),
    ),
    Index(
        "ix_feedback_facts_touchpoint_most_negative",
        "touchpoint",
        "sentiment_score",
        text("occurred_at DESC"),
        text("feedback_id DESC"),
        postgresql_where=text("deleted IS false AND sentiment_score IS NOT NULL"),
    ),
    # Verbatims filtered by any topic: JSONB containment (topics @> '[{"label": ...}]').
    Index(
        "ix_feedback_facts_topics",
        "topics",
        postgresql_using="gin",
        postgresql_ops={"topics": "jsonb_path_ops"},
    ),
)

score_rollups = Table(
    "score_rollups",
    metadata,
    Column("bucket_start", DateTime(timezone=True), primary_key=True),
    *(Column(d, Text, primary_key=True) for d in ROLLUP_DIMENSIONS),
    *(
        Column(m, Float if m in FLOAT_MEASURES else BigInteger, nullable=False, server_default="0")
        for m in ROLLUP_MEASURES
    ),
    Index("ix_score_rollups_touchpoint_bucket", "touchpoint", "bucket_start"),
)

# Slices: hourly rollups over a few dimensions each, so a query that filters and groups by those
# reads a small fraction of the rows score_rollups (every dimension) holds. "topic" is a slice
# dimension only: a fact with k topic labels adds to k rows of a topic slice, and a fact with no
# topics to the row with topic ''. Dimensions not in a slice are stored as '' in its rows.
# `audience` is in every slice: NPS and eNPS are split by it.
# A day-grain slice stores bucket_start truncated to the UTC day: a year of daily scores reads
# 365 rows a group instead of 8,760. It is the twin of the hourly slice with the same dimensions
# and serves the whole UTC days of any query whose buckets never split a UTC day; the edge
# hours come from the hourly twin (services/api/planner.py split).
TOPIC = "topic"
SLICE_DIMENSIONS = (TOPIC, *ROLLUP_DIMENSIONS)
Grain = Literal["hour", "day"]


@dataclass(frozen=True, slots=True)
class Slice:
    name: str
    dimensions: tuple[str, ...]
    grain: Grain = "hour"

    @property
    def has_topic(self) -> bool:
        return TOPIC in self.dimensions


SLICES = (
    Slice("touchpoint", ("touchpoint", "journey_stage", "audience")),
    Slice("stage", ("journey_stage", "audience")),
    Slice("channel", ("channel", "audience")),
    Slice("touchpoint_channel", ("touchpoint", "journey_stage", "channel", "audience")),
    Slice(
        "touchpoint_survey",
        ("touchpoint", "journey_stage", "source_kind", "survey_type", "audience"),
    ),
    Slice("topic", (TOPIC, "audience")),
    Slice("topic_touchpoint", (TOPIC, "touchpoint", "journey_stage", "audience")),
    Slice("topic_channel", (TOPIC, "channel", "audience")),
    # Day twins of the slices the heavy BI queries read (a year of daily scores of a touchpoint,
    # a month by channel, drivers of a touchpoint). Each costs the writer a row per fact a batch.
    Slice("touchpoint_day", ("touchpoint", "journey_stage", "audience"), "day"),
    Slice("channel_day", ("channel", "audience"), "day"),
    Slice("topic_touchpoint_day", (TOPIC, "touchpoint", "journey_stage", "audience"), "day"),
    # Unfiltered reads: a year of overall daily scores (stage) and of scores by topic (topic).
    Slice("stage_day", ("journey_stage", "audience"), "day"),
    Slice("topic_day", (TOPIC, "audience"), "day"),
)
SLICES_BY_NAME = {s.name: s for s in SLICES}


def hourly_twin(day: Slice) -> Slice:
    """The hourly slice a day slice sums (same dimensions); KeyError when there is none."""
    for s in SLICES:
        if s.grain == "hour" and s.dimensions == day.dimensions:
            return s
    raise KeyError(f"no hourly slice has the dimensions of {day.name}")


score_slices = Table(
    "score_slices",
    metadata,
    Column("slice", Text, primary_key=True),
    *(Column(d, Text, primary_key=True) for d in SLICE_DIMENSIONS),
    Column("bucket_start", DateTime(timezone=True), primary_key=True),
    *(
        Column(m, Float if m in FLOAT_MEASURES else BigInteger, nullable=False, server_default="0")
        for m in ROLLUP_MEASURES
    ),
)

# BI API keys (`voc_<id>_<secret>`): the secret is stored only as its SHA-256. The api service
# reads this table and writes nothing but last_used_at; `voc api-key` manages the rows.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Text, primary_key=True),
    Column("secret_sha256", LargeBinary, nullable=False),
    Column("name", Text, nullable=False),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)
