"""Score math and response shaping. Pure: no HTTP, no SQL, no I/O.

Definitions follow DESIGN.md "Scores": shares p and d are fractions of n, values are percentages
(or means), and every value is null when its n is 0 rather than invented.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from services.api.schemas import (
    CesScore,
    CsatScore,
    FeedbackItem,
    FeedbackPage,
    NpsScore,
    ScoreItem,
    ScoresPage,
    SentimentOut,
    SentimentScore,
    StarsScore,
    TopicOut,
    TouchpointItem,
    TouchpointsPage,
)
from shared.tables import ROLLUP_DIMENSIONS

Z95 = 1.96
Granularity = Literal["hour", "day", "week", "month", "total"]
# One result row, by column label (SQLAlchemy RowMapping or a plain dict).
Row = Mapping[Any, Any]


# The summed rollup parts an item's scores are computed from (besides n); the repository
# selects them under these labels.
PART_KEYS = tuple(
    f"{prefix}_{part}"
    for prefix, parts in {
        "nps": ("n", "promoters", "passives", "detractors"),
        "enps": ("n", "promoters", "passives", "detractors"),
        "csat": ("n", "sum", "satisfied"),
        "ces": ("n", "sum", "easy"),
        "stars": ("n", "sum"),
        "sentiment": ("n", "sum", "negative"),
    }.items()
    for part in parts
)


@dataclass(frozen=True, slots=True)
class ScoreQuery:
    start: datetime
    end: datetime
    granularity: Granularity = "day"
    group_by: tuple[str, ...] = ()
    filters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Cursor:
    """The sort key of the last row served: (occurred_at, feedback_id)."""

    occurred_at: datetime
    feedback_id: UUID


@dataclass(frozen=True, slots=True)
class FeedbackQuery:
    limit: int = 50
    start: datetime | None = None
    end: datetime | None = None
    after: Cursor | None = None
    touchpoint: str | None = None
    sentiment: str | None = None
    topic: str | None = None
    language: str | None = None
    source_kind: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    name: str
    stage: str | None
    team: str | None


def parse_group_by(raw: str | None) -> tuple[str, ...]:
    """'touchpoint,channel' -> ('touchpoint', 'channel'); ValueError naming an unknown one."""
    dims: list[str] = []
    for part in (raw or "").split(","):
        dim = part.strip()
        if not dim or dim in dims:
            continue
        if dim not in ROLLUP_DIMENSIONS:
            raise ValueError(
                f"unknown dimension {dim!r}; expected any of {', '.join(ROLLUP_DIMENSIONS)}"
            )
        dims.append(dim)
    return tuple(dims)


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps([cursor.occurred_at.isoformat(), str(cursor.feedback_id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str) -> Cursor:
    """The inverse of encode_cursor; ValueError on anything it did not produce."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        occurred_at, feedback_id = json.loads(raw)
        moment = datetime.fromisoformat(occurred_at)
        if moment.tzinfo is None:
            raise ValueError("cursor time without zone")
        return Cursor(moment.astimezone(UTC), UUID(feedback_id))
    except (binascii.Error, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise ValueError("malformed cursor; pass next_cursor from a previous page") from exc


def _ratio(part: float, n: int, scale: float = 100.0) -> float | None:
    return scale * part / n if n else None


def nps_score(n: int, promoters: int, passives: int, detractors: int) -> NpsScore:
    value = moe = None
    if n:
        p, d = promoters / n, detractors / n
        value = 100.0 * (p - d)
        # max(): p + d - (p - d)^2 is >= 0 mathematically but may round to -1e-17.
        moe = Z95 * 100.0 * math.sqrt(max(0.0, p + d - (p - d) ** 2) / n)
    return NpsScore(
        value=value, n=n, moe=moe, promoters=promoters, passives=passives, detractors=detractors
    )


def csat_score(n: int, total: float, satisfied: int) -> CsatScore:
    moe = None
    if n:
        p = satisfied / n
        moe = Z95 * 100.0 * math.sqrt(max(0.0, p * (1 - p)) / n)
    return CsatScore(value=_ratio(satisfied, n), n=n, moe=moe, mean=_ratio(total, n, 1.0))


def ces_score(n: int, total: float, easy: int) -> CesScore:
    return CesScore(value=_ratio(total, n, 1.0), n=n, share_easy=_ratio(easy, n))


def stars_score(n: int, total: float) -> StarsScore:
    return StarsScore(value=_ratio(total, n, 1.0), n=n)


def sentiment_score(n: int, total: float, negative: int) -> SentimentScore:
    return SentimentScore(value=_ratio(total, n), n=n, negative_share=_ratio(negative, n))


def score_fields(parts: Row, min_n: int) -> dict[str, Any]:
    """The metric blocks of one item from its summed rollup parts (n and PART_KEYS)."""
    n = int(parts["n"])
    return {
        "n": n,
        "nps": nps_score(
            parts["nps_n"], parts["nps_promoters"], parts["nps_passives"], parts["nps_detractors"]
        ),
        "csat": csat_score(parts["csat_n"], parts["csat_sum"], parts["csat_satisfied"]),
        "ces": ces_score(parts["ces_n"], parts["ces_sum"], parts["ces_easy"]),
        "stars": stars_score(parts["stars_n"], parts["stars_sum"]),
        "sentiment": sentiment_score(
            parts["sentiment_n"], parts["sentiment_sum"], parts["sentiment_negative"]
        ),
        "enps": nps_score(
            parts["enps_n"],
            parts["enps_promoters"],
            parts["enps_passives"],
            parts["enps_detractors"],
        ),
        "low_confidence": n < min_n,
    }


def _dim(value: str | None) -> str | None:
    """Unknown dimension values are stored as '' (they are part of the key); serve them as null."""
    return value or None


def scores_page(rows: Iterable[Row], group_by: Sequence[str], min_n: int) -> ScoresPage:
    items = [
        ScoreItem(
            bucket_start=row.get("bucket"),
            group={d: _dim(row[d]) for d in group_by},
            **score_fields(row, min_n),
        )
        for row in rows
    ]
    return ScoresPage(items=items, min_n=min_n)


def touchpoints_page(
    catalog: Sequence[CatalogEntry], rows: Iterable[Row], min_n: int
) -> TouchpointsPage:
    """Catalog order first, with all-time totals; then touchpoints seen only in the data."""
    totals = {row["touchpoint"]: row for row in rows}
    empty = {"n": 0, **{k: 0 for k in PART_KEYS}}
    items = [
        TouchpointItem(
            touchpoint=entry.name,
            journey_stage=entry.stage,
            team=entry.team,
            **score_fields(totals.pop(entry.name, empty), min_n),
        )
        for entry in catalog
    ]
    items += [
        TouchpointItem(
            touchpoint=_dim(name),
            journey_stage=_dim(row["journey_stage"]),
            team=None,
            **score_fields(row, min_n),
        )
        for name, row in sorted(totals.items())
    ]
    return TouchpointsPage(items=items)


def _topics(raw: Any) -> list[TopicOut]:
    out: list[TopicOut] = []
    for topic in raw or []:
        if isinstance(topic, Mapping) and topic.get("label"):
            score = topic.get("score")
            out.append(TopicOut(label=str(topic["label"]), score=score))
        elif isinstance(topic, str):
            out.append(TopicOut(label=topic, score=None))
    return out


def feedback_item(row: Row) -> FeedbackItem:
    sentiment = None
    if row["sentiment_label"]:
        sentiment = SentimentOut(
            label=row["sentiment_label"],
            score=row["sentiment_score"],
            confidence=row["sentiment_confidence"],
        )
    return FeedbackItem(
        feedback_id=row["feedback_id"],
        source_kind=row["source_kind"],
        source=row["source"],
        source_id=row["source_id"],
        occurred_at=row["occurred_at"],
        touchpoint=_dim(row["touchpoint"]),
        journey_stage=_dim(row["journey_stage"]),
        channel=_dim(row["channel"]),
        segment=_dim(row["segment"]),
        language=_dim(row["language"]),
        text=row["redacted_text"],
        sentiment=sentiment,
        topics=_topics(row["topics"]),
        nps=row["nps"],
        csat=row["csat"],
        ces=row["ces"],
        stars=row["stars"],
        model_version=row["model_version"],
    )


def feedback_page(rows: Sequence[Row], limit: int) -> FeedbackPage:
    """`rows` holds up to limit + 1 rows: the extra one only says another page exists."""
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit and page:
        last = page[-1]
        next_cursor = encode_cursor(Cursor(last["occurred_at"], last["feedback_id"]))
    return FeedbackPage(items=[feedback_item(r) for r in page], next_cursor=next_cursor)
