"""Split hygiene of the committed example set, and the tool that assigns the split."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from services.classifier.data.split import assign, read_rows, violations
from services.classifier.nlp.examples import TAGS, Example, normalise_text, parse_examples
from services.classifier.nlp.heads import load_or_train
from services.classifier.nlp.settings import DEFAULT_EXAMPLES, SCORED_LANGUAGES


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return parse_examples(DEFAULT_EXAMPLES.read_text(encoding="utf-8"))


def hashed_vectors(texts: list[str]) -> np.ndarray:
    """A stand-in encoder: a fixed pseudo-random vector per text."""
    seeds = [int(hashlib.sha256(t.encode()).hexdigest()[:8], 16) for t in texts]
    return np.array([np.random.default_rng(s).normal(size=16) for s in seeds])


class TestExampleSetHygiene:
    def test_no_test_text_appears_in_train_even_after_normalising(
        self, examples: list[Example]
    ) -> None:
        train = {normalise_text(e.text) for e in examples if e.split == "train"}
        leaked = [e.id for e in examples if e.split == "test" and normalise_text(e.text) in train]
        assert leaked == []

    def test_the_file_keeps_the_documented_split_rule(self) -> None:
        assert violations(read_rows(DEFAULT_EXAMPLES)) == []

    def test_the_heads_are_trained_on_the_train_split_only(
        self, examples: list[Example], tmp_path: Path
    ) -> None:
        seen: list[str] = []

        def embed(texts: list[str]) -> np.ndarray:
            seen.extend(texts)
            return hashed_vectors(texts)

        load_or_train(
            cache_dir=tmp_path, examples_path=DEFAULT_EXAMPLES, embed=embed, encoder_identity="e"
        )
        assert Counter(seen) == Counter(e.text for e in examples if e.split == "train")

    def test_every_scored_language_has_test_items_of_every_kind(
        self, examples: list[Example]
    ) -> None:
        for lang in SCORED_LANGUAGES:
            test = [e for e in examples if e.lang == lang and e.split == "test"]
            kinds = {t for e in test for t in e.tags}
            short = [e for e in test if 2 <= len(e.text.split()) <= 5]
            assert kinds == set(TAGS), lang
            assert len(short) >= 5, lang
            assert {e.sentiment for e in test} == {"negative", "neutral", "positive"}, lang

    def test_about_a_quarter_of_every_language_is_held_back(self, examples: list[Example]) -> None:
        for lang in SCORED_LANGUAGES:
            rows = [e for e in examples if e.lang == lang]
            share = sum(e.split == "test" for e in rows) / len(rows)
            assert 0.22 <= share <= 0.32, (lang, share)


def row(i: int, lang: str = "en", group: str | None = None, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": f"{lang}-{i:04d}",
        "lang": lang,
        "text": f"text {lang} {i}",
        "sentiment": "negative",
        "topics": ["delivery"],
    }
    return base | ({"group": group} if group else {}) | fields


class TestSplitTool:
    def test_new_rows_fill_each_cell_up_to_a_quarter(self) -> None:
        rows = [row(i) for i in range(8)]
        out = assign(rows)
        assert Counter(r["split"] for r in out) == {"test": 2, "train": 6}
        assert violations(out) == []

    def test_existing_splits_never_change(self) -> None:
        old = [row(i, split="test" if i < 2 else "train") for i in range(8)]
        out = assign([*old, *(row(i) for i in range(8, 12))])
        assert [r["split"] for r in out[:8]] == [r["split"] for r in old]
        assert Counter(r["split"] for r in out[8:]) == {"test": 1, "train": 3}

    def test_translations_of_a_scenario_land_on_the_same_side(self) -> None:
        langs = ("en", "sv")
        rows = [row(i, lang, group=f"g{i}", text=f"{lang} {i}") for lang in langs for i in range(8)]
        out = assign(rows)
        sides = {
            lang: {r["group"] for r in out if r["lang"] == lang and r["split"] == "test"}
            for lang in langs
        }
        assert sides["en"] == sides["sv"] and len(sides["en"]) == 2

    def test_the_draw_is_deterministic(self) -> None:
        rows = [row(i, group=f"g{i}") for i in range(12)]
        assert assign(rows) == assign(rows)

    def test_a_normalised_duplicate_is_a_violation(self) -> None:
        rows = assign([row(1, text="Never again."), row(2, text="never again!!")])
        assert any("repeats" in v for v in violations(rows))
