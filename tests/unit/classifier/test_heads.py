from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from services.classifier.nlp.heads import (
    SENTIMENT_LABELS,
    TOPIC_LABELS,
    HeadParams,
    Heads,
    evaluate,
    heads_version,
    load_or_train,
    parse_examples,
    train_heads,
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
        scores = evaluate(heads, synthetic_embed, test)
        assert scores["all"].n == len(test)
        assert scores["all"].sentiment == 1.0
        assert scores["all"].primary_topic == 1.0
        assert set(scores) == {"en", "all"}

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


class TestParseExamples:
    def test_primary_topic_comes_first(self) -> None:
        row = example_rows()[0] | {"topics": ["billing", "returns"]}
        (example,) = parse_examples(_jsonl([row]))
        assert example.topics == (Topic.billing, Topic.returns)

    @pytest.mark.parametrize(
        "change",
        [{"sentiment": "angry"}, {"topics": ["weather"]}, {"topics": []}, {"split": "dev"}],
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
