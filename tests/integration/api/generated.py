"""Generated survey answers, their hourly rollups, and the scores expected from the raw answers.

The expectations are computed here from the answers themselves (coded means and population
variances from `statistics`), independently of the service's arithmetic and of the rollups.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.tables import ROLLUP_DIMENSIONS, ROLLUP_MEASURES

START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
DAYS = 9
STAGES = {"checkout": "conversion", "delivery": "retention", "website": "consideration",
          "kiosk": "conversion"}  # fmt: skip
# kiosk is rare (always low-confidence) and missing from the journey catalog.
TOUCHPOINT_WEIGHTS = {"checkout": 40, "delivery": 30, "website": 25, "kiosk": 3}


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


def generate(count: int = 420, seed: int = 20240304) -> list[Answer]:
    rng = random.Random(seed)
    names, weights = zip(*TOUCHPOINT_WEIGHTS.items(), strict=True)
    answers = []
    for _ in range(count):
        touchpoint = rng.choices(names, weights)[0]
        employee = rng.random() < 0.15
        answers.append(
            Answer(
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
        )
    return answers


def bucket_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


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
        c.update(ces_n=1, ces_sum=a.ces, ces_easy=a.ces >= 5)
    if a.stars is not None:
        c.update(stars_n=1, stars_sum=a.stars)
    if a.sentiment is not None:
        c.update(sentiment_n=1, sentiment_sum=a.sentiment, sentiment_negative=is_negative(a))
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
            row[m] = v if m == "sentiment_sum" else int(v)
        rows.append(row)
    return rows


def _share(flags: list[bool]) -> float:
    return 100 * statistics.fmean(flags)


def expected_nps(values: list[int]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "value": None, "moe": None}
    coded = [100 if v >= 9 else -100 if v <= 6 else 0 for v in values]
    return {
        "n": len(values),
        "value": statistics.fmean(coded),
        "moe": 1.96 * math.sqrt(statistics.pvariance(coded) / len(coded)),
        "promoters": sum(v >= 9 for v in values),
        "detractors": sum(v <= 6 for v in values),
    }


def expected(answers: list[Answer]) -> dict[str, dict[str, Any]]:
    customer = [a.nps for a in answers if a.nps is not None and a.audience != "employee"]
    employee = [a.nps for a in answers if a.nps is not None and a.audience == "employee"]
    csat = [a.csat for a in answers if a.csat is not None]
    ces = [a.ces for a in answers if a.ces is not None]
    stars = [a.stars for a in answers if a.stars is not None]
    sentiment = [a for a in answers if a.sentiment is not None]
    out: dict[str, dict[str, Any]] = {
        "all": {"n": len(answers)},
        "nps": expected_nps(customer),
        "enps": expected_nps(employee),
        "csat": {"n": len(csat)},
        "ces": {"n": len(ces)},
        "stars": {"n": len(stars)},
        "sentiment": {"n": len(sentiment)},
    }
    if csat:
        sat = [c >= 4 for c in csat]
        out["csat"].update(
            value=_share(sat),
            mean=statistics.fmean(csat),
            moe=1.96 * 100 * statistics.pstdev(sat) / math.sqrt(len(sat)),
        )
    if ces:
        out["ces"].update(value=statistics.fmean(ces), share_easy=_share([c >= 5 for c in ces]))
    if stars:
        out["stars"].update(value=statistics.fmean(stars))
    if sentiment:
        out["sentiment"].update(
            value=100 * statistics.fmean(a.sentiment for a in sentiment if a.sentiment is not None),
            negative_share=_share([is_negative(a) for a in sentiment]),
        )
    return out
