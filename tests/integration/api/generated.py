"""Generated survey answers, their hourly rollups and slices, and the scores expected from the
raw answers.

The expectations are computed here from the answers themselves (coded means and population
variances from `statistics`, intervals from scipy.stats), independently of the service's
arithmetic and of the rollups. The score_slices rows are summed here too, from the answers and
the slice contract in shared.tables, not by the metrics writer's code.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from scipy import stats
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.tables import (
    FLOAT_MEASURES,
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
    SLICE_DIMENSIONS,
    SLICES,
    TOPIC,
    score_rollups,
    score_slices,
)

START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
DAYS = 9
STAGES = {"checkout": "conversion", "delivery": "retention", "website": "consideration",
          "kiosk": "conversion"}  # fmt: skip
# kiosk is rare (always low-confidence) and missing from the journey catalog.
TOUCHPOINT_WEIGHTS = {"checkout": 40, "delivery": 30, "website": 25, "kiosk": 3}
TOPICS = ("delivery", "product_quality", "pricing", "customer_support", "billing", "returns")


@dataclass(frozen=True)
class Answer:
    occurred_at: datetime
    touchpoint: str
    journey_stage: str
    source_kind: str
    channel: str
    segment: str
    language: str
    survey_type: str
    audience: str
    nps: int | None
    csat: int | None
    ces: int | None
    stars: int | None
    sentiment: float | None
    # Topic labels, primary first; a fact without topics counts under topic '' in topic slices.
    topics: tuple[str, ...] = ()


def some_topics(rng: random.Random, nps: int | None) -> tuple[str, ...]:
    """0 to 3 distinct labels; half the NPS detractors mention delivery, so it drives NPS down."""
    topics = rng.sample(TOPICS, rng.choices([0, 1, 2, 3], [20, 45, 25, 10])[0])
    if nps is not None and nps <= 6 and "delivery" not in topics and rng.random() < 0.5:
        topics.insert(0, "delivery")
    return tuple(topics)


def generate(count: int = 420, seed: int = 20240304) -> list[Answer]:
    rng = random.Random(seed)
    # Topics from a stream of their own: the other fields stay what they were before topics.
    topic_rng = random.Random(seed + 1)
    names, weights = zip(*TOUCHPOINT_WEIGHTS.items(), strict=True)
    answers = []
    for _ in range(count):
        touchpoint = rng.choices(names, weights)[0]
        employee = rng.random() < 0.15
        answer = Answer(
            occurred_at=START + timedelta(seconds=rng.randrange(DAYS * 86400)),
            touchpoint=touchpoint,
            journey_stage=STAGES[touchpoint],
            source_kind="survey",
            channel=rng.choice(["web", "email", ""]),
            segment=rng.choice(["vip", "smb", ""]),
            language=rng.choice(["en", "de", "sv"]),
            survey_type=rng.choice(["transactional", "relationship"]),
            audience="employee" if employee else "customer",
            nps=rng.randint(0, 10) if rng.random() < 0.85 else None,
            csat=rng.randint(1, 5) if rng.random() < 0.5 else None,
            ces=rng.randint(1, 7) if rng.random() < 0.4 else None,
            stars=rng.randint(1, 5) if rng.random() < 0.3 else None,
            sentiment=round(rng.uniform(-1, 1), 3) if rng.random() < 0.7 else None,
        )
        answers.append(replace(answer, topics=some_topics(topic_rng, answer.nps)))
    return answers


def bucket_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def day_of(moment: datetime) -> datetime:
    """The UTC midnight a day-grain slice keys the answer by (answers are in UTC)."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _contribution(a: Answer) -> dict[str, float]:
    c = dict.fromkeys(ROLLUP_MEASURES, 0.0)
    c["n"] = 1
    if a.nps is not None:
        c["nps_n"] = 1
        c["nps_promoters"] = a.nps >= 9
        c["nps_passives"] = 7 <= a.nps <= 8
        c["nps_detractors"] = a.nps <= 6
    if a.csat is not None:
        c.update(csat_n=1, csat_sum=a.csat, csat_satisfied=a.csat >= 4)
    if a.ces is not None:
        c.update(ces_n=1, ces_sum=a.ces, ces_sumsq=a.ces**2, ces_easy=a.ces >= 5)
    if a.stars is not None:
        c.update(stars_n=1, stars_sum=a.stars, stars_sumsq=a.stars**2)
    if a.sentiment is not None:
        c.update(
            sentiment_n=1,
            sentiment_sum=a.sentiment,
            sentiment_sumsq=a.sentiment**2,
            sentiment_negative=is_negative(a),
        )
    return c


def is_negative(a: Answer) -> bool:
    return a.sentiment is not None and a.sentiment < -0.2


def rollup_rows(answers: list[Answer]) -> list[dict[str, Any]]:
    """score_rollups rows: the answers' parts summed per hour bucket x dimensions."""
    sums: dict[tuple[Any, ...], dict[str, float]] = defaultdict(
        lambda: dict.fromkeys(ROLLUP_MEASURES, 0.0)
    )
    for a in answers:
        fields = asdict(a)
        key = (bucket_of(a.occurred_at), *(fields[d] for d in ROLLUP_DIMENSIONS))
        for measure, value in _contribution(a).items():
            sums[key][measure] += value
    rows = []
    for key, measures in sums.items():
        row: dict[str, Any] = dict(zip(("bucket_start", *ROLLUP_DIMENSIONS), key, strict=True))
        for m, v in measures.items():
            row[m] = v if m in FLOAT_MEASURES else int(v)
        rows.append(row)
    return rows


def slice_rows(answers: list[Answer]) -> list[dict[str, Any]]:
    """score_slices rows: for each slice, the answers' parts summed per hour bucket (a day
    slice: per UTC day) x the slice's dimensions ('' for the others); in a topic slice once per
    topic label of an answer, or under topic '' for an answer without topics."""
    sums: dict[tuple[Any, ...], dict[str, float]] = defaultdict(
        lambda: dict.fromkeys(ROLLUP_MEASURES, 0.0)
    )
    for a in answers:
        fields = asdict(a)
        parts = _contribution(a)
        for s in SLICES:
            labels = (a.topics or ("",)) if s.has_topic else ("",)
            for label in set(labels):
                values = {**fields, TOPIC: label}
                stored = tuple(values[d] if d in s.dimensions else "" for d in SLICE_DIMENSIONS)
                bucket = bucket_of(a.occurred_at) if s.grain == "hour" else day_of(a.occurred_at)
                key = (s.name, bucket, *stored)
                for measure, value in parts.items():
                    sums[key][measure] += value
    rows = []
    for (name, bucket, *key_dims), measures in sums.items():
        row: dict[str, Any] = {"slice": name, "bucket_start": bucket}
        row.update(zip(SLICE_DIMENSIONS, key_dims, strict=True))
        for m, v in measures.items():
            row[m] = v if m in FLOAT_MEASURES else int(v)
        rows.append(row)
    return rows


async def seed(conn: AsyncConnection, answers: list[Answer]) -> None:
    """The rollups and slices the metrics writer would keep for these answers."""
    await conn.execute(insert(score_rollups), rollup_rows(answers))
    await conn.execute(insert(score_slices), slice_rows(answers))


def _share(flags: list[bool]) -> float:
    return 100 * statistics.fmean(flags)


def expected_nps(values: list[int]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "value": None, "moe": None, "ci_low": None}
    coded = [100 if v >= 9 else -100 if v <= 6 else 0 for v in values]
    value = statistics.fmean(coded)
    moe = 1.96 * math.sqrt(statistics.pvariance(coded) / len(coded))
    return {
        "n": len(values),
        "value": value,
        "moe": moe,
        "ci_low": max(-100.0, value - moe),
        "ci_high": min(100.0, value + moe),
        "promoters": sum(v >= 9 for v in values),
        "detractors": sum(v <= 6 for v in values),
    }


def expected_mean(values: list[float], low: float, high: float) -> dict[str, Any]:
    """Mean and its 95% t-interval (scipy), clipped to the scale like the API."""
    if len(values) < 2:
        return {"moe": None, "ci_low": None, "ci_high": None}
    if len(set(values)) == 1:  # no spread (scipy warns on it): a zero-width interval
        return {"moe": 0.0, "ci_low": values[0], "ci_high": values[0]}
    ci = stats.ttest_1samp(values, 0).confidence_interval(0.95)
    moe = (ci.high - ci.low) / 2
    return {"moe": moe, "ci_low": max(low, ci.low), "ci_high": min(high, ci.high)}


def expected(answers: list[Answer], min_n: int) -> dict[str, dict[str, Any]]:
    """Every block of one item: the customer metrics over the answers of audience != employee,
    eNPS over the employee answers, the item's n over all of them."""
    customers = [a for a in answers if a.audience != "employee"]
    employee = [a.nps for a in answers if a.nps is not None and a.audience == "employee"]
    csat = [a.csat for a in customers if a.csat is not None]
    ces = [a.ces for a in customers if a.ces is not None]
    stars = [a.stars for a in customers if a.stars is not None]
    sentiment = [a for a in customers if a.sentiment is not None]
    out: dict[str, dict[str, Any]] = {
        "all": {"n": len(answers)},
        "nps": expected_nps([a.nps for a in customers if a.nps is not None]),
        "enps": expected_nps(employee),
        "csat": {"n": len(csat)},
        "ces": {"n": len(ces)},
        "stars": {"n": len(stars)},
        "sentiment": {"n": len(sentiment)},
    }
    if csat:
        sat = [c >= 4 for c in csat]
        wilson = stats.binomtest(sum(sat), len(sat)).proportion_ci(0.95, method="wilson")
        out["csat"].update(
            value=_share(sat),
            mean=statistics.fmean(csat),
            moe=1.96 * 100 * statistics.pstdev(sat) / math.sqrt(len(sat)),
            ci_low=100 * wilson.low,
            ci_high=100 * wilson.high,
        )
    if ces:
        out["ces"].update(value=statistics.fmean(ces), share_easy=_share([c >= 5 for c in ces]))
        out["ces"].update(expected_mean([float(c) for c in ces], 1, 7))
    if stars:
        out["stars"].update(value=statistics.fmean(stars))
        out["stars"].update(expected_mean([float(s) for s in stars], 1, 5))
    if sentiment:
        index = [100 * a.sentiment for a in sentiment if a.sentiment is not None]
        out["sentiment"].update(
            value=statistics.fmean(index),
            negative_share=_share([is_negative(a) for a in sentiment]),
        )
        out["sentiment"].update(expected_mean(index, -100, 100))
    for block in ("nps", "enps", "csat", "ces", "stars", "sentiment"):
        out[block]["low_confidence"] = out[block]["n"] < min_n
    return out


def rounded(value: Any) -> Any:
    """Floats to 9 significant digits, recursively: sums of sentiment scores added up in another
    order (another table, another plan) differ in the last bits."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value
