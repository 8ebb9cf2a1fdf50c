"""`voc train-heads`: calibrate the sentiment head on the customer's own rated feedback.

Survey answers and reviews carry a rating next to their text: free sentiment labels, in the
customer's own words, languages and domain. This command reads them from the metrics writer's
facts, retrains the sentiment head on them plus the committed examples' train split, and
installs the new heads only if, on the held-back test split, they score no worse than the heads
in use (sentiment macro-F1 and primary-topic accuracy). Topics have no free labels: the topic
heads stay the ones trained from the committed examples.

Ratings to sentiment (a row whose ratings disagree is left out):

| rating | negative | neutral | positive |
|---|---|---|---|
| nps (0-10) | 0-6 | 7-8 | 9-10 |
| csat (1-5) | 1-2 | 3-4 | 5 |
| stars (1-5) | 1-2 | 3-4 | 5 |

The classifier loads the installed heads at its next start; `--uninstall` goes back to the heads
trained from the examples alone. Run with the service's settings (CLASSIFIER_NLP__*) and the
database of the metrics writer (CLASSIFIER_DATABASE__URL, else VOC_DATABASE_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import structlog
from pydantic import Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.classifier.nlp.evaluate import score_heads, summarise
from services.classifier.nlp.examples import Example, normalise_text, parse_examples
from services.classifier.nlp.heads import (
    SENTIMENT_LABELS,
    Embed,
    HeadParams,
    Heads,
    fit_linear,
    install,
    installed_heads,
    uninstall,
)
from services.classifier.nlp.settings import NlpSettings
from shared.db import create_engine
from shared.events import SentimentLabel
from shared.settings import BaseServiceSettings, DatabaseSettings
from shared.tables import feedback_facts
from shared.telemetry import configure_logging

log = structlog.get_logger(__name__)


class TrainHeadsSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="CLASSIFIER_", env_nested_delimiter="__", extra="ignore"
    )

    service_name: str = "train-heads"
    nlp: NlpSettings = Field(default_factory=NlpSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    max_feedback: int = Field(default=20_000, ge=1, description="Newest rated texts to use.")
    min_feedback: int = Field(default=30, ge=1, description="Fewer rated texts: change nothing.")
    tolerance: float = Field(
        default=0.0, ge=0, le=1, description="How far below the heads in use a candidate may score."
    )


@dataclass(frozen=True, slots=True)
class RatedText:
    text: str
    sentiment: SentimentLabel


@dataclass(frozen=True)
class Calibration:
    candidate: Heads
    before: dict[str, Any]  # summarise() of the heads in use, on the test split
    after: dict[str, Any]  # the same for the candidate
    feedback: dict[str, int]  # rated texts used, per sentiment label
    accepted: bool


def _band(value: int | None, negative_max: int, positive_min: int) -> SentimentLabel | None:
    if value is None:
        return None
    if value <= negative_max:
        return SentimentLabel.negative
    if value >= positive_min:
        return SentimentLabel.positive
    return SentimentLabel.neutral


def sentiment_from_ratings(
    nps: int | None = None, csat: int | None = None, stars: int | None = None
) -> SentimentLabel | None:
    """The sentiment the ratings state (see the module docstring), or None if they disagree."""
    labels = {
        label
        for label in (_band(nps, 6, 9), _band(csat, 2, 5), _band(stars, 2, 5))
        if label is not None
    }
    return labels.pop() if len(labels) == 1 else None


async def fetch_rated_texts(engine: AsyncEngine, *, limit: int) -> list[RatedText]:
    """The newest scored customer texts that carry a rating, one per distinct text."""
    f = feedback_facts.c
    query = (
        select(f.redacted_text, f.nps, f.csat, f.stars)
        .where(
            and_(
                ~f.deleted,
                ~f.unscored,
                f.redacted_text.is_not(None),
                f.audience != "employee",  # eNPS comments are about the workplace
                or_(f.nps.is_not(None), f.csat.is_not(None), f.stars.is_not(None)),
            )
        )
        .order_by(f.occurred_at.desc(), f.feedback_id)
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    out, seen = [], set()
    for text, nps, csat, stars in rows:
        label = sentiment_from_ratings(nps, csat, stars)
        key = normalise_text(text)
        if label is None or not key or key in seen:
            continue
        seen.add(key)
        out.append(RatedText(text, label))
    return out


def candidate_version(base: Heads, feedback: Sequence[RatedText], params: HeadParams) -> str:
    digest = hashlib.sha256()
    for item in sorted(f"{r.sentiment.value}\t{r.text}" for r in feedback):
        digest.update(item.encode() + b"\n")
    key = {"base": base.version, "feedback": digest.hexdigest(), "params": asdict(params)}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def calibrate(
    *,
    examples: Sequence[Example],
    feedback: Sequence[RatedText],
    embed: Embed,
    base: Heads,
    active: Heads,
    params: HeadParams,
    topic_threshold: float,
    tolerance: float = 0.0,
) -> Calibration:
    """Train the candidate heads and judge them against `active` on the test split."""
    train = [e for e in examples if e.split == "train"]
    test = [e for e in examples if e.split == "test"]
    # Split hygiene: a customer text that is also a test example would be trained on.
    held_back = {normalise_text(e.text) for e in test}
    feedback = [r for r in feedback if normalise_text(r.text) not in held_back]
    texts = [e.text for e in train] + [r.text for r in feedback]
    labels = [e.sentiment for e in train] + [r.sentiment for r in feedback]
    y = np.array([SENTIMENT_LABELS.index(s) for s in labels], dtype=np.int64)
    sentiment = fit_linear(
        embed(texts).astype(np.float64),
        y,
        multilabel=False,
        c=params.sentiment_c,
        max_iter=params.max_iter,
    )
    candidate = Heads(
        version=candidate_version(base, feedback, params),
        sentiment=sentiment,
        topics=base.topics,
        primary=base.primary,
    )
    x_test = embed([e.text for e in test])
    before = summarise(score_heads(active, x_test, test, topic_threshold))
    after = summarise(score_heads(candidate, x_test, test, topic_threshold))
    accepted = all(
        after[key] >= before[key] - tolerance
        for key in ("sentiment_macro_f1", "primary_topic_accuracy")
    )
    counts = {s.value: sum(r.sentiment == s for r in feedback) for s in SENTIMENT_LABELS}
    return Calibration(candidate, before, after, counts, accepted)


async def train_from_database(
    settings: TrainHeadsSettings, *, embed: Embed, base: Heads, params: HeadParams | None = None
) -> dict[str, Any]:
    """Read rated feedback, calibrate, install if not worse; a summary of what happened."""
    params = params or HeadParams()
    cache_dir = settings.nlp.cache_dir
    active = installed_heads(cache_dir, base.version) or base
    engine = create_engine(settings.database)
    try:
        feedback = await fetch_rated_texts(engine, limit=settings.max_feedback)
    finally:
        await engine.dispose()
    summary: dict[str, Any] = {"active_version": active.version, "rated_texts": len(feedback)}
    if len(feedback) < settings.min_feedback:
        log.info("train_heads.too_little_feedback", rated=len(feedback))
        return summary | {"installed": False, "reason": "too_little_feedback"}
    examples = parse_examples(settings.nlp.examples_path.read_text(encoding="utf-8"))
    result = calibrate(
        examples=examples,
        feedback=feedback,
        embed=embed,
        base=base,
        active=active,
        params=params,
        topic_threshold=settings.nlp.topic_threshold,
        tolerance=settings.tolerance,
    )
    summary |= {
        "candidate_version": result.candidate.version,
        "feedback": result.feedback,
        "before": result.before,
        "after": result.after,
    }
    if not result.accepted:
        log.warning("train_heads.rejected", before=result.before, after=result.after)
        return summary | {"installed": False, "reason": "worse_on_test_split"}
    details = {"feedback": result.feedback, "before": result.before, "after": result.after}
    install(cache_dir, result.candidate, base_version=base.version, details=details)
    log.info("train_heads.installed", version=result.candidate.version[:8])
    return summary | {"installed": True, "reason": "not_worse_on_test_split"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="voc train-heads", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--uninstall",
        action="store_true",
        help="go back to the heads trained from the committed examples alone",
    )
    args = parser.parse_args(argv)
    settings = TrainHeadsSettings()
    configure_logging(settings.service_name, env=settings.env, level=settings.log_level)
    if args.uninstall:
        print(json.dumps({"uninstalled": uninstall(settings.nlp.cache_dir)}))
        return 0
    # Imported here: the model is the slow part, and --uninstall does not need it.
    from services.classifier.nlp.pipeline import build_classifier
    from services.classifier.nlp.redact import redact

    classifier = build_classifier(settings.nlp, calibrated=False)

    def embed(texts: list[str]) -> np.ndarray:
        # Exactly what classify() feeds the encoder: redacted text (a no-op for stored facts).
        return classifier.encoder.encode([redact(t) for t in texts])

    summary = asyncio.run(train_from_database(settings, embed=embed, base=classifier.heads))
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
