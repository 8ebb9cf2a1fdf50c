"""Rollups and slices recomputed in plain Python from facts (independent of the writer's code),
and read back from the database, for the slice and rebuild tests.

Sentiment scores in the generated facts are exact in binary (-0.75, -0.25, 0, 0.5, 1), so
every sum is exact whatever the order it is added in, and tables compare with ==.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.events import EnrichedFeedbackEvent
from shared.tables import (
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
    SLICE_DIMENSIONS,
    SLICES,
    Slice,
    feedback_facts,
    score_rollups,
    score_slices,
)
from tests.unit.metrics.factories import T0, enriched

Table = dict[tuple[Any, ...], dict[str, float]]
TOPICS = ("delivery", "pricing", "billing", "returns", "other")
SENTIMENTS = (("negative", -0.75), ("negative", -0.25), ("neutral", 0.0), ("positive", 0.5),
              ("positive", 1.0))  # fmt: skip


def fact_parts(f: Mapping[str, Any]) -> Counter[str]:
    """DESIGN.md "Scores", written out again."""
    row: Counter[str] = Counter(n=1)
    if (nps := f["nps"]) is not None:
        row["nps_n"] += 1
        row["nps_promoters" if nps >= 9 else "nps_passives" if nps >= 7 else "nps_detractors"] += 1
    if (csat := f["csat"]) is not None:
        row.update(csat_n=1, csat_sum=csat, csat_satisfied=int(csat >= 4))
    if (ces := f["ces"]) is not None:
        row.update(ces_n=1, ces_sum=ces, ces_sumsq=ces**2, ces_easy=int(ces >= 5))
    if (stars := f["stars"]) is not None:
        row.update(stars_n=1, stars_sum=stars, stars_sumsq=stars**2)
    if (score := f["sentiment_score"]) is not None and not f["unscored"]:
        row.update(sentiment_n=1, sentiment_sum=score, sentiment_sumsq=score**2)
        row["sentiment_negative"] += f["sentiment_label"] == "negative"
    return row


def labels(f: Mapping[str, Any]) -> list[str]:
    """Distinct string labels of well-formed topic objects, or [''] for none."""
    found = []
    for t in f["topics"] or []:
        if isinstance(t, dict) and isinstance(t.get("label"), str) and t["label"] not in found:
            found.append(t["label"])
    return found or [""]


def _table(rows: Mapping[tuple[Any, ...], Counter[str]]) -> Table:
    return {k: {m: float(v.get(m, 0)) for m in ROLLUP_MEASURES} for k, v in rows.items()}


def expected_rollups(facts: Iterable[Mapping[str, Any]]) -> Table:
    out: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    for f in facts:
        if not f["deleted"]:
            out[(f["bucket_start"], *(f[d] for d in ROLLUP_DIMENSIONS))].update(fact_parts(f))
    return _table(out)


def bucket(s: Slice, hour: datetime) -> datetime:
    """A day slice keys the UTC day: the hour less its hours since UTC midnight."""
    if s.grain == "hour":
        return hour
    utc = hour.astimezone(UTC)
    return utc - timedelta(hours=utc.hour)


def expected_slices(facts: Iterable[Mapping[str, Any]]) -> Table:
    out: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    for f in facts:
        if f["deleted"]:
            continue
        for s in SLICES:
            for topic in labels(f) if s.has_topic else [""]:
                values = {**f, "topic": topic}
                dims = [values[d] if d in s.dimensions else "" for d in SLICE_DIMENSIONS]
                out[(s.name, *dims, bucket(s, f["bucket_start"]))].update(fact_parts(f))
    return _table(out)


async def facts(engine: AsyncEngine) -> list[dict[str, Any]]:
    """Every stored fact, tombstones included."""
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(select(feedback_facts))).mappings()]


async def stored(conn: AsyncConnection) -> tuple[Table, Table]:
    """(score_rollups, score_slices) by primary key, rows whose measures are all zero left out
    (the writer keeps a row its last fact left; a rebuild writes none)."""
    out = []
    for table in (score_rollups, score_slices):
        keys = [c.name for c in table.primary_key.columns]
        rows = (await conn.execute(select(table))).mappings()
        out.append({
            tuple(r[k] for k in keys): {m: float(r[m]) for m in ROLLUP_MEASURES}
            for r in rows if any(r[m] for m in ROLLUP_MEASURES)
        })  # fmt: skip
    return out[0], out[1]


def history(count: int, seed: int) -> list[list[EnrichedFeedbackEvent]]:
    """Batches for the writer: `count` items over two UTC days, then revisions that move
    topics, channel, touchpoint and scores, deletions, duplicates and stale versions, in
    shuffled batches."""
    rng = random.Random(seed)

    def version(i: int, revision: int) -> EnrichedFeedbackEvent:
        kind = ("survey", "survey", "ticket", "review", "social")[i % 5]
        employee = kind == "survey" and rng.random() < 0.2
        topics = tuple(rng.sample(TOPICS, rng.choice([0, 1, 1, 2, 3])))
        if topics and rng.random() < 0.15:
            topics += topics[:1]  # a label twice still counts once in a topic slice
        return enriched(
            f"item-{i}",
            revision=str(revision),
            kind=kind,
            # From 14:25 UTC to past midnight: the day slices get two days.
            occurred_at=T0 + timedelta(hours=rng.randrange(12), minutes=rng.randrange(60)),
            touchpoint=rng.choice(["checkout", "delivery", "website"]),
            nps=rng.randrange(11) if kind == "survey" and rng.random() < 0.8 else None,
            csat=rng.randint(1, 5) if kind in ("survey", "ticket") and rng.random() < 0.6 else None,
            ces=rng.randint(1, 7) if kind == "survey" and rng.random() < 0.5 else None,
            stars=rng.randint(1, 5) if kind == "review" else None,
            sentiment=rng.choice(SENTIMENTS) if rng.random() < 0.85 else None,
            unscored=rng.random() < 0.1,
            channel=rng.choice(["web", "email", "in_app", None]),
            segment=rng.choice(["smb", "enterprise", None]),
            language=rng.choice(["en", "de", None]),
            topics=topics,
            survey_type=rng.choice(["transactional", "relationship"]),
            audience="employee" if employee else "customer",
        )

    first = [version(i, 1) for i in range(count)]
    later: list[EnrichedFeedbackEvent] = []
    for i in rng.sample(range(count), count // 2):
        later.append(version(i, 2))
        if rng.random() < 0.3:
            later.append(version(i, 3))
    for i in rng.sample(range(count), count // 10):
        later.append(enriched(f"item-{i}", revision="4", deleted=True))
    later += rng.sample(first, count // 5)  # duplicates and, where revised, stale versions
    rng.shuffle(later)
    cut = len(later) // 3
    return [first[: count // 2], first[count // 2 :], later[:cut], later[cut : 2 * cut],
            later[2 * cut :]]  # fmt: skip
