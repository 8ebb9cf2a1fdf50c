"""`voc train-heads` against a real PostgreSQL: rated facts in, calibrated heads installed (or not).

The training mechanics run with a small deterministic stand-in encoder over synthetic examples;
one test at the end runs the whole command path with the real e5 encoder.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from services.classifier.nlp.heads import (
    SENTIMENT_LABELS,
    TOPIC_LABELS,
    Heads,
    installed_heads,
    load_or_train,
)
from services.classifier.nlp.language import LanguageDetector
from services.classifier.nlp.pipeline import TextClassifier, build_classifier
from services.classifier.nlp.settings import NlpSettings
from services.classifier.train_heads import (
    TrainHeadsSettings,
    fetch_rated_texts,
    sentiment_from_ratings,
    train_from_database,
)
from shared.db import async_url, create_engine
from shared.embedded import EmbeddedPostgres
from shared.events import SentimentLabel
from shared.settings import DatabaseSettings
from shared.tables import feedback_facts, metadata

DIM = 24
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def fake_embed(texts: list[str]) -> np.ndarray:
    """Deterministic vectors that encode the label words a text contains, plus fixed noise."""
    out = np.zeros((len(texts), DIM))
    for row, text in enumerate(texts):
        words = text.split()
        for i, label in enumerate(SENTIMENT_LABELS):
            out[row, i] = 3.0 * (label.value in words)
        for i, topic in enumerate(TOPIC_LABELS):
            out[row, 3 + i] = 3.0 * (topic.value in words)
        out[row, 11:] = np.random.default_rng(sum(map(ord, text))).normal(0, 0.3, DIM - 11)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def write_examples(path: Path) -> Path:
    rows = [
        {
            "id": f"en-{s.value}-{t.value}-{k}",
            "lang": "en",
            "text": f"{'test' if k == 0 else 'train'} {k} {s.value} {t.value}",
            "sentiment": s.value,
            "topics": [t.value],
            "split": "test" if k == 0 else "train",
        }
        for s in SENTIMENT_LABELS
        for t in TOPIC_LABELS
        for k in range(3)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def fact(i: int, text: str | None, **fields: Any) -> dict[str, Any]:
    occurred = T0 + timedelta(minutes=i)
    return {
        "feedback_id": uuid.uuid5(uuid.NAMESPACE_URL, f"fact-{i}"),
        "event_id": uuid.uuid5(uuid.NAMESPACE_URL, f"event-{i}"),
        "revision": "0",
        "revision_rank": 0,
        "received_at": occurred,
        "source_kind": "survey",
        "source": "typeform",
        "source_id": str(i),
        "occurred_at": occurred,
        "bucket_start": occurred.replace(minute=0),
        "touchpoint": "checkout",
        "journey_stage": "conversion",
        "touchpoint_rule": "explicit",
        "model_version": "m",
        "redacted_text": text,
        # One executemany needs the same keys in every row.
        "nps": None,
        "csat": None,
        "ces": None,
        "stars": None,
        "deleted": False,
        "unscored": False,
        "unscored_reason": None,
        "audience": "",
    } | fields


def rated(n: int, *, start: int = 0, invert: bool = False) -> list[dict[str, Any]]:
    """n customer answers whose text agrees with their NPS (or contradicts it, if `invert`)."""
    scores = {"negative": 2, "neutral": 8, "positive": 10}
    flipped = {"negative": "positive", "positive": "negative", "neutral": "neutral"}
    out = []
    for i in range(start, start + n):
        label = SENTIMENT_LABELS[i % 3].value
        topic = TOPIC_LABELS[i % len(TOPIC_LABELS)].value
        nps = scores[flipped[label] if invert else label]
        out.append(fact(i, f"customer {i} {label} {topic}", nps=nps))
    return out


@pytest.fixture
async def facts_db(postgres: EmbeddedPostgres, unique: str) -> AsyncIterator[DatabaseSettings]:
    """A new database with the storage-contract tables; dropped afterwards."""
    name = f"train_heads_{unique}"
    admin = await asyncpg.connect(postgres.uri("postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    engine = create_async_engine(async_url(postgres.uri(name)))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    yield DatabaseSettings(url=postgres.uri(name))
    admin = await asyncpg.connect(postgres.uri("postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def seed(db: DatabaseSettings, rows: Sequence[dict[str, Any]]) -> None:
    engine = create_engine(db)
    async with engine.begin() as conn:
        await conn.execute(feedback_facts.insert(), list(rows))
    await engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, facts_db: DatabaseSettings) -> TrainHeadsSettings:
    nlp = NlpSettings(cache_dir=tmp_path / "cache", examples_path=write_examples(tmp_path / "ex"))
    return TrainHeadsSettings(nlp=nlp, database=facts_db, min_feedback=10)


@pytest.fixture
def base(settings: TrainHeadsSettings) -> Heads:
    return load_or_train(
        cache_dir=settings.nlp.cache_dir,
        examples_path=settings.nlp.examples_path,
        embed=fake_embed,
        encoder_identity="fake",
    )


class FakeEncoder:
    name = "fake-encoder"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return fake_embed(list(texts))


class TestTrainHeads:
    async def test_agreeing_ratings_install_new_heads_that_the_classifier_loads(
        self, settings: TrainHeadsSettings, facts_db: DatabaseSettings, base: Heads
    ) -> None:
        await seed(facts_db, rated(60))
        summary = await train_from_database(settings, embed=fake_embed, base=base)
        assert summary["installed"] is True
        assert summary["after"]["sentiment_macro_f1"] >= summary["before"]["sentiment_macro_f1"]
        assert summary["feedback"] == {"negative": 20, "neutral": 20, "positive": 20}
        loaded = load_or_train(
            cache_dir=settings.nlp.cache_dir,
            examples_path=settings.nlp.examples_path,
            embed=fake_embed,
            encoder_identity="fake",
            use_installed=True,
        )
        assert loaded.version == summary["candidate_version"] != base.version
        classifier = TextClassifier(
            encoder=FakeEncoder(),
            heads=loaded,
            detector=LanguageDetector(preload=False),
            scored_languages=["en"],
        )
        assert classifier.model_version == f"fake-encoder+heads-{loaded.version[:8]}"

    async def test_contradicting_ratings_are_not_installed(
        self, settings: TrainHeadsSettings, facts_db: DatabaseSettings, base: Heads
    ) -> None:
        await seed(facts_db, rated(300, invert=True))
        summary = await train_from_database(settings, embed=fake_embed, base=base)
        assert summary["installed"] is False
        assert summary["reason"] == "worse_on_test_split"
        assert summary["after"]["sentiment_macro_f1"] < summary["before"]["sentiment_macro_f1"]
        assert installed_heads(settings.nlp.cache_dir, base.version) is None

    async def test_too_little_rated_feedback_changes_nothing(
        self, settings: TrainHeadsSettings, facts_db: DatabaseSettings, base: Heads
    ) -> None:
        await seed(facts_db, rated(5))
        summary = await train_from_database(settings, embed=fake_embed, base=base)
        assert summary == {
            "active_version": base.version,
            "rated_texts": 5,
            "installed": False,
            "reason": "too_little_feedback",
        }

    async def test_a_second_run_is_judged_against_the_installed_heads(
        self, settings: TrainHeadsSettings, facts_db: DatabaseSettings, base: Heads
    ) -> None:
        await seed(facts_db, rated(60))
        first = await train_from_database(settings, embed=fake_embed, base=base)
        await seed(facts_db, rated(30, start=60))
        second = await train_from_database(settings, embed=fake_embed, base=base)
        assert second["active_version"] == first["candidate_version"]
        assert second["candidate_version"] != first["candidate_version"]

    async def test_a_customer_text_equal_to_a_test_example_is_not_trained_on(
        self, settings: TrainHeadsSettings, facts_db: DatabaseSettings, base: Heads
    ) -> None:
        leaked = fact(999, "Test 0 negative delivery!", nps=0)  # a test example, normalised
        await seed(facts_db, [*rated(30), leaked])
        summary = await train_from_database(settings, embed=fake_embed, base=base)
        assert summary["rated_texts"] == 31
        assert sum(summary["feedback"].values()) == 30


class TestFetchRatedTexts:
    async def test_only_scored_rated_customer_texts_are_read_once_each(
        self, facts_db: DatabaseSettings
    ) -> None:
        await seed(
            facts_db,
            [
                fact(1, "great", nps=10),
                fact(2, "Great!", nps=9),  # the same text, normalised: the newer one is kept
                fact(3, "meh", csat=3),
                fact(4, "awful", stars=1),
                fact(5, "gone", nps=0, deleted=True),
                fact(6, "ciao", nps=0, unscored=True, unscored_reason="unsupported_language:it"),
                fact(7, "my manager", nps=0, audience="employee"),
                fact(8, None, nps=0),
                fact(9, "torn", nps=10, stars=1),  # ratings disagree
                fact(10, "fast", ces=7),  # CES says effort, not sentiment
            ],
        )
        engine = create_engine(facts_db)
        try:
            got = await fetch_rated_texts(engine, limit=100)
        finally:
            await engine.dispose()
        assert [(r.text, r.sentiment.value) for r in got] == [
            ("awful", "negative"),
            ("meh", "neutral"),
            ("Great!", "positive"),
        ]

    async def test_the_newest_rows_are_taken_first(self, facts_db: DatabaseSettings) -> None:
        await seed(facts_db, rated(10))
        engine = create_engine(facts_db)
        try:
            got = await fetch_rated_texts(engine, limit=3)
        finally:
            await engine.dispose()
        assert [r.text.split()[1] for r in got] == ["9", "8", "7"]


class TestSentimentFromRatings:
    @pytest.mark.parametrize(
        ("ratings", "label"),
        [
            ({"nps": 0}, "negative"),
            ({"nps": 6}, "negative"),
            ({"nps": 7}, "neutral"),
            ({"nps": 8}, "neutral"),
            ({"nps": 9}, "positive"),
            ({"csat": 2}, "negative"),
            ({"csat": 3}, "neutral"),
            ({"csat": 4}, "neutral"),
            ({"csat": 5}, "positive"),
            ({"stars": 1}, "negative"),
            ({"stars": 4}, "neutral"),
            ({"stars": 5}, "positive"),
            ({"nps": 10, "stars": 5}, "positive"),
            ({"nps": 10, "stars": 1}, None),
            ({}, None),
        ],
    )
    def test_mapping(self, ratings: dict[str, int], label: str | None) -> None:
        expected = SentimentLabel(label) if label else None
        assert sentiment_from_ratings(**ratings) == expected


CUSTOMER_ANSWERS = [
    ("Fast delivery and friendly courier, thank you!", 10),
    ("Everything arrived on time, great shop.", 9),
    ("Leveransen kom snabbt, supernöjd!", 10),
    ("Alles bestens, gerne wieder.", 9),
    ("Muy contenta con la compra, llegó rapidísimo.", 10),
    ("Отличный магазин, всё пришло вовремя.", 10),
    ("Çok memnun kaldım, teşekkürler!", 9),
    ("Ótimo atendimento, recomendo.", 10),
    ("It was fine, nothing special.", 7),
    ("Okay-ish, delivery took a while.", 7),
    ("Ganz okay, Lieferung etwas langsam.", 8),
    ("Normal, nada especial.", 7),
    ("Parcel arrived broken and nobody answered my emails.", 1),
    ("Terrible support, I waited two weeks for a refund.", 0),
    ("Paketet försvann och ingen hjälper mig.", 2),
    ("Die Rechnung war falsch, nie wieder.", 0),
    ("Pésimo servicio, nunca más compro aquí.", 0),
    ("Ужасное качество, вещь порвалась сразу.", 1),
    ("Kargo çok geç geldi, rezalet.", 2),
    ("Cobraram duas vezes no meu cartão.", 1),
]


class TestTrainHeadsOnTheRealEncoder:
    async def test_real_answers_calibrate_and_the_service_loads_the_result(
        self, facts_db: DatabaseSettings, tmp_path: Path
    ) -> None:
        nlp = NlpSettings(cache_dir=tmp_path / "cache")
        classifier = build_classifier(nlp, calibrated=False)
        await seed(facts_db, [fact(i, t, nps=s) for i, (t, s) in enumerate(CUSTOMER_ANSWERS)])
        settings = TrainHeadsSettings(nlp=nlp, database=facts_db, min_feedback=10)
        summary = await train_from_database(
            settings, embed=classifier.encoder.encode, base=classifier.heads
        )
        # "Pésimo servicio, …" is word for word a held-back test example: never trained on.
        assert summary["feedback"] == {"negative": 7, "neutral": 4, "positive": 8}
        restarted = build_classifier(nlp)
        if summary["installed"]:
            assert (
                summary["after"]["sentiment_macro_f1"] >= (summary["before"]["sentiment_macro_f1"])
            )
            assert restarted.model_version.endswith(summary["candidate_version"][:8])
        else:
            assert restarted.model_version == classifier.model_version
