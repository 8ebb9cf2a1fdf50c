"""Quality figures of the classifier on labelled examples: the metrics and the report data.

Pure functions over outcomes (what the classifier said about each example); the command that
runs the model and writes docs/eval/ is `python -m services.classifier.evaluate`. Figures are
rounded and every collection sorted, so the same outcomes always give the same report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from services.classifier.nlp.examples import Example
from services.classifier.nlp.heads import SENTIMENT_LABELS, TOPIC_LABELS, Heads

UNSCORED = "unscored"
NOT_DETECTED = "none"
SHORT = "short"  # 2-5 words; counted, not tagged by hand
_SENTIMENTS = [s.value for s in SENTIMENT_LABELS]
_TOPICS = [t.value for t in TOPIC_LABELS]
_QUALITY_KEYS = ("sentiment_macro_f1", "sentiment_accuracy", "primary_topic_accuracy", "topic_f1")
_DIGITS = 3


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the classifier said about one labelled example."""

    example: Example
    sentiment: str  # a SentimentLabel value, or "unscored"
    topics: tuple[str, ...]  # predicted, primary first
    language: str | None = None  # detected without a hint; None when not evaluated


def word_count(text: str) -> int:
    return len(text.split())


def is_short(text: str) -> bool:
    return 2 <= word_count(text) <= 5


def slices_of(example: Example) -> set[str]:
    """The text kinds an example belongs to: its hand-set tags, plus `short` by word count."""
    return set(example.tags) | ({SHORT} if is_short(example.text) else set())


def confusion(true: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> list[list[int]]:
    """Counts with true labels as rows and predicted labels as columns, both in `labels` order."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for t, p in zip(true, pred, strict=True):
        matrix[index[t]][index[p]] += 1
    return matrix


def macro_f1(true: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    """Mean F1 over the labels that occur among the true or predicted values.

    A prediction outside `labels` (an unscored item) is a miss for its true label's recall and
    counts against no label's precision.
    """
    scores = []
    for label in labels:
        tp = sum(t == label and p == label for t, p in zip(true, pred, strict=True))
        n_true = sum(t == label for t in true)
        n_pred = sum(p == label for p in pred)
        if n_true == 0 and n_pred == 0:
            continue
        scores.append(2 * tp / (n_true + n_pred))
    return float(np.mean(scores)) if scores else 0.0


def micro_f1(true: Sequence[Iterable[str]], pred: Sequence[Iterable[str]]) -> float:
    """Multi-label F1 over all (item, label) decisions."""
    tp = n_true = n_pred = 0
    for t, p in zip(true, pred, strict=True):
        ts, ps = set(t), set(p)
        tp += len(ts & ps)
        n_true += len(ts)
        n_pred += len(ps)
    return 2 * tp / (n_true + n_pred) if n_true + n_pred else 0.0


def accuracy(hits: Iterable[bool]) -> float | None:
    values = list(hits)
    return sum(values) / len(values) if values else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, _DIGITS)


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Quality figures of a group of outcomes (one language, one slice or all)."""
    if not outcomes:
        return {"n": 0, "unscored": 0} | dict.fromkeys(_QUALITY_KEYS)
    true_s = [o.example.sentiment.value for o in outcomes]
    pred_s = [o.sentiment for o in outcomes]
    true_topics = [[t.value for t in o.example.topics] for o in outcomes]
    return {
        "n": len(outcomes),
        "sentiment_macro_f1": _round(macro_f1(true_s, pred_s, _SENTIMENTS)),
        "sentiment_accuracy": _round(accuracy(t == p for t, p in zip(true_s, pred_s, strict=True))),
        "primary_topic_accuracy": _round(accuracy(_primary_hit(o) for o in outcomes)),
        "topic_f1": _round(micro_f1(true_topics, [o.topics for o in outcomes])),
        "unscored": sum(o.sentiment == UNSCORED for o in outcomes),
    }


def _primary_hit(o: Outcome) -> bool:
    return bool(o.topics) and o.topics[0] == o.example.topics[0].value


def language_summary(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Language-ID figures; a text the detector leaves undecided counts as a miss."""
    short = [o for o in outcomes if is_short(o.example.text)]
    return {
        "n": len(outcomes),
        "accuracy": _round(accuracy(o.language == o.example.lang for o in outcomes)),
        "n_short": len(short),
        "accuracy_short": _round(accuracy(o.language == o.example.lang for o in short)),
    }


def _grouped(outcomes: Sequence[Outcome], key: str) -> dict[str, list[Outcome]]:
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        names = [o.example.lang] if key == "lang" else sorted(slices_of(o.example))
        for name in names:
            groups.setdefault(name, []).append(o)
    return dict(sorted(groups.items()))


def build_report(
    test: Sequence[Outcome], langid_all: Sequence[Outcome], meta: dict[str, Any]
) -> dict[str, Any]:
    """The report as plain data: `meta` (model version, file hash, command) plus the figures."""
    by_lang = _grouped(test, "lang")
    unscored_col = [UNSCORED] if any(o.sentiment == UNSCORED for o in test) else []
    sentiment_cols = _SENTIMENTS + unscored_col
    mistakes = [
        {
            "id": o.example.id,
            "text": o.example.text,
            "sentiment": [o.example.sentiment.value, o.sentiment],
            "primary_topic": [o.example.topics[0].value, o.topics[0] if o.topics else None],
        }
        for o in sorted(test, key=lambda o: o.example.id)
        if o.sentiment != o.example.sentiment.value or not _primary_hit(o)
    ]
    lang_errors = Counter(
        f"{o.example.lang}->{o.language or NOT_DETECTED}"
        for o in langid_all
        if o.language != o.example.lang
    )
    by_count = sorted(lang_errors.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        **meta,
        "test": {lang: summarise(group) for lang, group in by_lang.items()}
        | {"all": summarise(test)},
        "slices": {name: summarise(group) for name, group in _grouped(test, "slice").items()},
        "language_id": {
            "test": {lang: language_summary(g) for lang, g in by_lang.items()}
            | {"all": language_summary(test)},
            "all_examples": {
                lang: language_summary(g) for lang, g in _grouped(langid_all, "lang").items()
            }
            | {"all": language_summary(langid_all)},
            "errors_all_examples": dict(by_count),
        },
        "confusion": {
            "sentiment": {
                "labels": _SENTIMENTS,
                "predicted": sentiment_cols,
                "matrix": confusion(
                    [o.example.sentiment.value for o in test],
                    [o.sentiment for o in test],
                    sentiment_cols,
                )[: len(_SENTIMENTS)],
            },
            "primary_topic": {
                "labels": _TOPICS,
                "predicted": _TOPICS,
                "matrix": confusion(
                    [o.example.topics[0].value for o in test],
                    [o.topics[0] for o in test],
                    _TOPICS,
                ),
            },
        },
        "mistakes": mistakes,
    }


def score_heads(
    heads: Heads, x: np.ndarray, examples: Sequence[Example], threshold: float
) -> list[Outcome]:
    """Outcomes of the heads alone on precomputed vectors (no language step)."""
    sentiment = heads.sentiment_probs(x).argmax(axis=1)
    topics = heads.topic_probs(x)
    out = []
    for row, example in enumerate(examples):
        order = np.argsort(-topics[row], kind="stable")
        kept = [int(i) for i in order if topics[row, i] >= threshold] or [int(order[0])]
        out.append(
            Outcome(
                example=example,
                sentiment=SENTIMENT_LABELS[int(sentiment[row])].value,
                topics=tuple(TOPIC_LABELS[i].value for i in kept),
            )
        )
    return out
