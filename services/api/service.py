"""Response shaping: rollup rows into score pages, fact rows into verbatim pages. Pure.

The metric math lives in scores.py (one item) and compare.py (two windows); the SQL in
statements.py. Nothing here knows the database; only scores_response renders bytes (a year of
daily items is built as plain values and serialised once, not validated model by model).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from fastapi import Response
from pydantic_core import to_json

from services.api.models import (
    CatalogEntry,
    Cursor,
    FeedbackOrder,
    FeedbackQuery,
    ScoreKey,
    ScoreQuery,
    encode_cursor,
    encode_score_cursor,
    zone,
)
from services.api.schemas import (
    FeedbackItem,
    FeedbackPage,
    ScoreItem,
    ScoresPage,
    SentimentOut,
    TopicOut,
    TouchpointItem,
    TouchpointsPage,
)
from services.api.scores import PART_KEYS, Row, score_blocks, score_fields


def _dim(value: str | None) -> str | None:
    """Unknown dimension values are stored as '' (they are part of the key); serve them as null."""
    return value or None


def local_bucket(row: Row, tz: str) -> datetime | None:
    bucket: datetime | None = row.get("bucket")
    return None if bucket is None else bucket.astimezone(zone(tz))


def score_key(row: Row, group_by: Sequence[str]) -> ScoreKey:
    """The row's sort key as stored (unknown dims as ''), which is what a cursor must hold."""
    return ScoreKey(row.get("bucket"), tuple(row[d] for d in group_by))


def score_item(row: Row, query: ScoreQuery, min_n: int) -> ScoreItem:
    return ScoreItem(
        bucket_start=local_bucket(row, query.tz),
        group={d: _dim(row[d]) for d in query.group_by},
        **score_fields(row, min_n),
    )


def _score_page(rows: Sequence[Row], query: ScoreQuery) -> tuple[Sequence[Row], str | None]:
    """`rows` holds up to limit + 1 rows: the extra one only says another page exists."""
    page = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit and page:
        next_cursor = encode_score_cursor(query.shape, score_key(page[-1], query.group_by))
    return page, next_cursor


def scores_page(rows: Sequence[Row], query: ScoreQuery, min_n: int) -> ScoresPage:
    page, next_cursor = _score_page(rows, query)
    items = [score_item(row, query, min_n) for row in page]
    return ScoresPage(items=items, min_n=min_n, next_cursor=next_cursor)


def scores_response(rows: Sequence[Row], query: ScoreQuery, min_n: int) -> Response:
    """scores_page as JSON bytes, byte for byte what FastAPI renders of it (ScoresPage through
    pydantic's serializer), without building and validating a model per item: plain blocks
    (scores.score_blocks) serialised once by the same pydantic-core serializer."""
    page, next_cursor = _score_page(rows, query)
    tz = zone(query.tz)
    items = []
    for row in page:
        item = score_blocks(row, min_n)
        bucket = row.get("bucket")
        item["bucket_start"] = None if bucket is None else bucket.astimezone(tz)
        item["group"] = {d: _dim(row[d]) for d in query.group_by}
        items.append(item)
    body = to_json({"items": items, "min_n": min_n, "next_cursor": next_cursor})
    return Response(content=body, media_type="application/json")


def bound_scores(query: ScoreQuery, ends: Sequence[Row]) -> tuple[ScoreQuery, str | None]:
    """A CSV page's last key and the next page's cursor, from the page's last row and the one
    after it (fewer than two: the page is the last). Bounding the stream by key, not by count,
    keeps the page and its cursor consistent while rows arrive meanwhile."""
    if len(ends) < 2:
        return query, None
    last = score_key(ends[0], query.group_by)
    return replace(query, until=last), encode_score_cursor(query.shape, last)


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


def feedback_key(row: Row, order: FeedbackOrder = "newest") -> Cursor:
    score = row["sentiment_score"] if order == "most_negative" else None
    return Cursor(row["occurred_at"], row["feedback_id"], score)


def bound_feedback(query: FeedbackQuery, ends: Sequence[Row]) -> tuple[FeedbackQuery, str | None]:
    """As bound_scores, for verbatims."""
    if len(ends) < 2:
        return query, None
    last = feedback_key(ends[0], query.order)
    return replace(query, until=last), encode_cursor(last)


def feedback_page(rows: Sequence[Row], limit: int, order: FeedbackOrder = "newest") -> FeedbackPage:
    """`rows` holds up to limit + 1 rows: the extra one only says another page exists."""
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit and page:
        next_cursor = encode_cursor(feedback_key(page[-1], order))
    return FeedbackPage(items=[feedback_item(r) for r in page], next_cursor=next_cursor)
