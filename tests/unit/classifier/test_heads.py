from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from services.classifier.nlp.evaluate import score_heads, summarise
from services.classifier.nlp.examples import parse_examples
from services.classifier.nlp.heads import (
    INSTALLED,
    SENTIMENT_LABELS,
    TOPIC_LABELS,
    HeadParams,
    Heads,
    heads_version,
    install,
    installed_heads,
    load_or_train,
    train_heads,
    uninstall,
)
from shared.events import SentimentLabel, Topic

DIM = 24


def synthetic_embed(texts: list[str]) -> np.ndarray:
    """Vectors that encode the label words a synthetic text contains, plus fixed noise."""
    out = np.zeros((len(texts), DIM))
    for row, text in enumerate(texts):
        words = text.split()
        for i, label in enumerate(SENTIMENT_LABELS):
            out[row, i] = 3.0 * (label.value in words)
        for i, topic in enumerate(TOPIC_LABELS):
            out[row, 3 + i] = 3.0 * (topic.value in words)
        seed = sum(map(ord, text))
        out[row, 11:] = np.random.default_rng(seed).normal(0, 0.3, DIM - 11)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def example_rows(n_per_combo: int = 3) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for s in SENTIMENT_LABELS:
        for t in TOPIC_LABELS:
            for k in range(n_per_combo):
                split = "test" if k == 0 else "train"
                rows.append(
                    {
                        "id": f"{s.value}-{t.value}-{k}",
                        "lang": "sv" if k % 2 else "en",
                        "text": f"{split} {k} {s.value} {t.value}",
                        "sentiment": s.value,
                        "topics": [t.value],
                        "split": split,
                    }
                )
    return rows


def write_examples(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


class RecordingEmbed:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.seen.extend(texts)
        return synthetic_embed(texts)


class TestHeads:
    def test_training_embeds_only_the_train_split(self, tmp_path: Path) -> None:
        rows = example_rows()
        examples = write_examples(tmp_path / "examples.jsonl", rows)
        embed = RecordingEmbed()
        load_or_train(
            cache_dir=tmp_path / "cache", examples_path=examples, embed=embed, encoder_identity="e"
        )
        train_texts = {r["text"] for r in rows if r["split"] == "train"}
        assert set(embed.seen) == train_texts
        assert not any(t.startswith("test") for t in embed.seen)

    def test_train_heads_refuses_test_examples(self) -> None:
        examples = parse_examples("".join(json.dumps(r) + "\n" for r in example_rows()))
        with pytest.raises(ValueError, match="train split only"):
            train_heads(synthetic_embed([e.text for e in examples]), examples, HeadParams(), "v")

    def test_heads_learn_separable_labels(self) -> None:
        examples = parse_examples("".join(json.dumps(r) + "\n" for r in example_rows(5)))
        train = [e for e in examples if e.split == "train"]
        test = [e for e in examples if e.split == "test"]
        heads = train_heads(synthetic_embed([e.text for e in train]), train, HeadParams(), "v")
        scores = summarise(score_heads(heads, synthetic_embed([e.text for e in test]), test, 0.5))
        assert scores["n"] == len(test)
        assert scores["sentiment_accuracy"] == 1.0
        assert scores["primary_topic_accuracy"] == 1.0

    def test_probabilities_are_distributions(self) -> None:
        examples = [e for e in parse_examples(_jsonl(example_rows())) if e.split == "train"]
        heads = train_heads(
            synthetic_embed([e.text for e in examples]), examples, HeadParams(), "v"
        )
        x = synthetic_embed(["positive delivery", "negative billing"])
        sentiment = heads.sentiment_probs(x)
        topics = heads.topic_probs(x)
        assert sentiment.shape == (2, 3) and np.allclose(sentiment.sum(axis=1), 1.0)
        assert topics.shape == (2, len(Topic)) and ((topics > 0) & (topics < 1)).all()
        assert SENTIMENT_LABELS[int(sentiment[1].argmax())] == SentimentLabel.negative
        assert TOPIC_LABELS[int(topics[0].argmax())] == Topic.delivery

    def test_training_is_deterministic(self) -> None:
        examples = [e for e in parse_examples(_jsonl(example_rows())) if e.split == "train"]
        x = synthetic_embed([e.text for e in examples])
        a = train_heads(x, examples, HeadParams(), "v")
        b = train_heads(x, examples, HeadParams(), "v")
        assert np.array_equal(a.sentiment.weight, b.sentiment.weight)
        assert np.array_equal(a.topics.weight, b.topics.weight)

    def test_unchanged_examples_load_from_the_cache(self, tmp_path: Path) -> None:
        examples = write_examples(tmp_path / "examples.jsonl", example_rows())
        first = load_or_train(
            cache_dir=tmp_path, examples_path=examples, embed=synthetic_embed, encoder_identity="e"
        )
        embed = RecordingEmbed()
        second = load_or_train(
            cache_dir=tmp_path, examples_path=examples, embed=embed, encoder_identity="e"
        )
        assert embed.seen == []
        assert second.version == first.version
        assert np.array_equal(second.topics.weight, first.topics.weight)

    def test_changed_examples_retrain_under_a_new_version(self, tmp_path: Path) -> None:
        rows = example_rows()
        examples = write_examples(tmp_path / "examples.jsonl", rows)
        first = load_or_train(
            cache_dir=tmp_path, examples_path=examples, embed=synthetic_embed, encoder_identity="e"
        )
        rows[1]["text"] = "train 9 negative delivery"
        write_examples(examples, rows)
        embed = RecordingEmbed()
        second = load_or_train(
            cache_dir=tmp_path, examples_path=examples, embed=embed, encoder_identity="e"
        )
        assert second.version != first.version
        assert "train 9 negative delivery" in embed.seen

    def test_version_depends_on_encoder_examples_and_params(self) -> None:
        base = heads_version("enc", "sha", HeadParams())
        assert heads_version("enc", "sha", HeadParams()) == base
        assert heads_version("other", "sha", HeadParams()) != base
        assert heads_version("enc", "sha2", HeadParams()) != base
        assert heads_version("enc", "sha", HeadParams(topic_c=1.0)) != base

    def test_topic_scores_follow_the_primary_head_where_it_is_surer(self) -> None:
        examples = [e for e in parse_examples(_jsonl(example_rows())) if e.split == "train"]
        heads = train_heads(
            synthetic_embed([e.text for e in examples]), examples, HeadParams(), "v"
        )
        assert heads.primary is not None
        x = synthetic_embed(["neutral pricing", "positive returns"])
        sigmoid = 0.5 * (1.0 + np.tanh(0.5 * heads.topics.logits(x)))
        probs = heads.topic_probs(x)
        assert (probs >= sigmoid).all() and (probs <= 1.0).all()
        assert [TOPIC_LABELS[int(i)] for i in probs.argmax(axis=1)] == [
            Topic.pricing,
            Topic.returns,
        ]

    def test_saved_heads_load_with_all_three_heads(self, tmp_path: Path) -> None:
        examples = [e for e in parse_examples(_jsonl(example_rows())) if e.split == "train"]
        heads = train_heads(
            synthetic_embed([e.text for e in examples]), examples, HeadParams(), "v1"
        )
        heads.save(tmp_path / "h.npz")
        loaded = Heads.load(tmp_path / "h.npz")
        x = synthetic_embed(["negative billing"])
        assert loaded.version == "v1" and loaded.primary is not None
        assert np.allclose(loaded.topic_probs(x), heads.topic_probs(x))
        assert np.allclose(loaded.sentiment_probs(x), heads.sentiment_probs(x))

    @pytest.mark.parametrize("garbage", [b"not an npz", b"PK\x03\x04truncated zip"])
    def test_corrupt_cache_file_is_retrained(self, tmp_path: Path, garbage: bytes) -> None:
        examples = write_examples(tmp_path / "examples.jsonl", example_rows())
        first = load_or_train(
            cache_dir=tmp_path, examples_path=examples, embed=synthetic_embed, encoder_identity="e"
        )
        (cached,) = (tmp_path / "heads").glob("heads-*.npz")
        cached.write_bytes(garbage)
        second = load_or_train(
            cache_dir=tmp_path, examples_path=examples, embed=synthetic_embed, encoder_identity="e"
        )
        assert second.version == first.version
        assert isinstance(Heads.load(cached), Heads)


class TestInstalledHeads:
    @pytest.fixture
    def base(self, tmp_path: Path) -> Heads:
        examples = write_examples(tmp_path / "examples.jsonl", example_rows())
        return load_or_train(
            cache_dir=tmp_path, examples_path=examples, embed=synthetic_embed, encoder_identity="e"
        )

    def calibrated(self, base: Heads, version: str) -> Heads:
        return Heads(version=version, sentiment=base.sentiment, topics=base.topics)

    def test_installed_heads_are_loaded_instead_of_the_base(
        self, tmp_path: Path, base: Heads
    ) -> None:
        install(tmp_path, self.calibrated(base, "c" * 64), base_version=base.version, details={})
        again = load_or_train(
            cache_dir=tmp_path,
            examples_path=tmp_path / "examples.jsonl",
            embed=synthetic_embed,
            encoder_identity="e",
            use_installed=True,
        )
        assert again.version == "c" * 64
        pointer = json.loads((tmp_path / "heads" / INSTALLED).read_text())
        assert pointer["version"] == "c" * 64 and pointer["base_version"] == base.version

    def test_the_base_heads_are_used_when_installed_ones_are_not_asked_for(
        self, tmp_path: Path, base: Heads
    ) -> None:
        install(tmp_path, self.calibrated(base, "c" * 64), base_version=base.version, details={})
        plain = load_or_train(
            cache_dir=tmp_path,
            examples_path=tmp_path / "examples.jsonl",
            embed=synthetic_embed,
            encoder_identity="e",
        )
        assert plain.version == base.version

    def test_heads_installed_on_another_base_are_ignored(self, tmp_path: Path, base: Heads) -> None:
        install(tmp_path, self.calibrated(base, "c" * 64), base_version="old", details={})
        assert installed_heads(tmp_path, base.version) is None

    def test_every_installed_version_stays_on_disk(self, tmp_path: Path, base: Heads) -> None:
        install(tmp_path, self.calibrated(base, "a" * 64), base_version=base.version, details={})
        install(tmp_path, self.calibrated(base, "b" * 64), base_version=base.version, details={})
        current = installed_heads(tmp_path, base.version)
        assert current is not None and current.version == "b" * 64
        assert (tmp_path / "heads" / f"heads-{'a' * 16}.npz").is_file()

    def test_uninstall_returns_to_the_base_heads(self, tmp_path: Path, base: Heads) -> None:
        install(tmp_path, self.calibrated(base, "c" * 64), base_version=base.version, details={})
        assert uninstall(tmp_path) is True
        assert installed_heads(tmp_path, base.version) is None
        assert uninstall(tmp_path) is False

    @pytest.mark.parametrize("pointer", ["{not json", '{"version": "x"}'])
    def test_unreadable_pointer_falls_back_to_the_base(
        self, tmp_path: Path, base: Heads, pointer: str
    ) -> None:
        (tmp_path / "heads" / INSTALLED).write_text(pointer)
        assert installed_heads(tmp_path, base.version) is None


class TestParseExamples:
    def test_primary_topic_comes_first(self) -> None:
        row = example_rows()[0] | {"topics": ["billing", "returns"]}
        (example,) = parse_examples(_jsonl([row]))
        assert example.topics == (Topic.billing, Topic.returns)

    def test_tags_are_read(self) -> None:
        row = example_rows()[0] | {"tags": ["sarcasm", "social"], "group": "b2-01"}
        (example,) = parse_examples(_jsonl([row]))
        assert example.tags == ("sarcasm", "social")

    @pytest.mark.parametrize(
        "change",
        [
            {"sentiment": "angry"},
            {"topics": ["weather"]},
            {"topics": []},
            {"split": "dev"},
            {"tags": ["rude"]},
        ],
    )
    def test_invalid_rows_fail_with_their_line_number(self, change: dict[str, object]) -> None:
        rows = example_rows()[:2]
        rows[1] = rows[1] | change
        with pytest.raises(ValueError, match="line 2"):
            parse_examples(_jsonl(rows))

    def test_blank_lines_are_skipped(self) -> None:
        assert len(parse_examples("\n" + _jsonl(example_rows()[:2]) + "\n\n")) == 2


def _jsonl(rows: list[dict[str, object]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)
