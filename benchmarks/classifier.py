"""Classifier throughput: the service's batched path against a naive per-message loop.

A benchmark, not a test. Both paths classify the same texts on the same cores in one process:

- service: `TextClassifier.classify` on consumer-sized batches, as the classifier's handler calls
  it (redaction, language ID, length-bucketed batched encoding at the configured dtype, heads);
- naive: one text at a time through the stock `transformers` feature-extraction pipeline over the
  same weights (float32, as loaded), with the same redaction, language ID and heads.

The corpus is the labelled examples (10 languages) drawn at random, a fifth of them joined into
multi-sentence texts and a tenth into ticket-sized ones, so lengths have a realistic tail
(`--mix short`: the examples alone, survey-comment and social-post sized).
The paths alternate over rounds of the corpus, so load from other processes on a shared machine
falls on both alike. Peak RSS of the service path is taken before the naive model is loaded.

    python benchmarks/classifier.py [--texts 2000] [--device cuda] [--write docs/bench]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file (`python benchmarks/classifier.py`): as a package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from benchmarks.classifier_naive import NaiveLoop
from benchmarks.classifier_report import (
    machine_facts,
    peak_rss_mb,
    percentiles_ms,
    render_markdown,
)
from services.classifier.cli import log_to_stderr
from services.classifier.nlp.encoder import DeviceUnavailable, Encoder
from services.classifier.nlp.heads import parse_examples
from services.classifier.nlp.pipeline import TextClassifier, TextInput, build_classifier
from services.classifier.settings import ClassifierSettings


def corpus(examples_path: Path, n: int, seed: int, mix: str = "mixed") -> list[tuple[str, str]]:
    """`n` (text, language) pairs. "mixed": 70% single examples, 20% 2-3 and 10% 4-8 of them
    joined in one language (reviews, tickets); "short": single examples only (surveys, posts)."""
    by_lang: dict[str, list[str]] = {}
    for e in parse_examples(examples_path.read_text(encoding="utf-8")):
        by_lang.setdefault(e.lang, []).append(e.text)
    rng = random.Random(seed)
    langs = sorted(by_lang)
    texts = []
    for _ in range(n):
        lang = rng.choice(langs)
        pool = by_lang[lang]
        roll = rng.random()
        parts = 1 if roll < 0.7 else rng.randint(2, 3) if roll < 0.9 else rng.randint(4, 8)
        parts = 1 if mix == "short" else parts
        texts.append((" ".join(rng.choice(pool) for _ in range(parts)), lang))
    return texts


def quality(classifier: TextClassifier, examples_path: Path) -> dict[str, Any]:
    """Held-out sentiment and primary-topic accuracy of this configuration (the test split)."""
    test = [e for e in parse_examples(examples_path.read_text("utf-8")) if e.split == "test"]
    results = classifier.classify([TextInput(e.text, e.lang) for e in test])
    pred = [r.sentiment.label if r.sentiment else None for r in results]
    true = [e.sentiment for e in test]
    f1 = []
    for label in set(true):
        tp = sum(p == t == label for p, t in zip(pred, true, strict=True))
        fp = sum(p == label != t for p, t in zip(pred, true, strict=True))
        fn = sum(t == label != p for p, t in zip(pred, true, strict=True))
        f1.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    pairs = list(zip(results, test, strict=True))
    topic_hits = [bool(r.topics) and r.topics[0][0] == e.topics[0] for r, e in pairs]
    return {
        "n": len(test),
        "sentiment_accuracy": round(
            float(np.mean([p == t for p, t in zip(pred, true, strict=True)])), 3
        ),
        "sentiment_macro_f1": round(float(np.mean(f1)), 3),
        "primary_topic_accuracy": round(float(np.mean(topic_hits)), 3),
    }


def _service_round(
    classifier: TextClassifier, items: list[TextInput], idx: np.ndarray, batch: int, out: Paths
) -> None:
    before = len(out.service_latency)
    for start in range(0, len(idx), batch):
        chunk = idx[start : start + batch]
        t0 = time.perf_counter()
        results = classifier.classify([items[i] for i in chunk])
        out.service_latency.append(time.perf_counter() - t0)
        for i, res in zip(chunk, results, strict=True):
            out.service_labels[int(i)] = res.sentiment.label.value if res.sentiment else None
    out.service_rounds.append(sum(out.service_latency[before:]))


def _naive_round(naive: NaiveLoop, items: list[TextInput], idx: np.ndarray, out: Paths) -> None:
    for i in idx:
        t0 = time.perf_counter()
        out.naive_labels[int(i)] = naive.classify(items[i])
        out.naive_latency.append(time.perf_counter() - t0)
    out.naive_rounds.append(sum(out.naive_latency[-len(idx) :]))


@dataclass
class Paths:
    service_latency: list[float] = field(default_factory=list)  # per batch
    naive_latency: list[float] = field(default_factory=list)  # per text
    service_labels: dict[int, str | None] = field(default_factory=dict)
    naive_labels: dict[int, str | None] = field(default_factory=dict)
    service_rss_mb: float = 0.0
    service_rounds: list[float] = field(default_factory=list)  # seconds per round
    naive_rounds: list[float] = field(default_factory=list)


def run(args: argparse.Namespace) -> dict[str, Any]:
    overrides = {"device": args.device, "dtype": args.dtype, "threads": args.threads}
    settings = ClassifierSettings().nlp.model_copy(
        update={k: v for k, v in overrides.items() if v is not None}
    )
    classifier = build_classifier(settings)
    encoder = classifier.encoder
    assert isinstance(encoder, Encoder)
    facts = machine_facts(encoder)
    pairs = corpus(settings.examples_path, args.texts, args.seed, args.mix)
    items = [TextInput(text) for text, _ in pairs]
    tokens = [
        len(x)
        for x in encoder.tokenizer(
            [encoder.prefix + t for t, _ in pairs], truncation=True, max_length=encoder.max_length
        )["input_ids"]
    ]
    out = Paths()
    naive: NaiveLoop | None = None
    classifier.classify(items[: args.batch_size])  # warm-up: first calls allocate and plan
    for r, idx in enumerate(np.array_split(np.arange(len(items)), args.rounds)):
        # Alternate which path goes first. Round 0 starts with the service, so that its peak
        # RSS is read before the naive path loads its own copy of the model.
        for path in ("service", "naive") if r % 2 == 0 else ("naive", "service"):
            if path == "service":
                _service_round(classifier, items, idx, args.batch_size, out)
                out.service_rss_mb = out.service_rss_mb or peak_rss_mb()
                continue
            if naive is None:
                naive = NaiveLoop(classifier, settings)
                for item in items[:10]:
                    naive.classify(item)
            _naive_round(naive, items, idx, out)

    # Medians over rounds: a burst of load from elsewhere spoils one round, not the result.
    # Rounds hold the same texts for both paths, so a round's time ratio is its speed ratio.
    size = len(items) / args.rounds
    service_tps = float(np.median([size / t for t in out.service_rounds]))
    naive_tps = float(np.median([size / t for t in out.naive_rounds]))
    ratios = [n / s for s, n in zip(out.service_rounds, out.naive_rounds, strict=True)]
    agree = np.mean([out.service_labels[i] == out.naive_labels[i] for i in range(len(items))])
    facts["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result: dict[str, Any] = {
        "command": " ".join(["python", "benchmarks/classifier.py", *sys.argv[1:]]),
        "machine": facts,
        "corpus": {
            "texts": len(items),
            "seed": args.seed,
            "mix": args.mix,
            "rounds": args.rounds,
            "languages": dict(sorted(Counter(lang for _, lang in pairs).items())),
            "tokens": {
                "mean": round(float(np.mean(tokens)), 1),
                "p50": int(np.percentile(tokens, 50)),
                "p90": int(np.percentile(tokens, 90)),
                "max": int(max(tokens)),
            },
        },
        "service": {
            "batch_texts": args.batch_size,
            "encoder_batch_size": encoder.batch_size,
            "encoder_batch_tokens": encoder.batch_tokens,
            "pad_to_multiple_of": encoder.pad_to,
            "lanes": encoder.lanes.lanes,
            "threads_per_lane": encoder.lanes.threads_each,
            "texts_per_s": round(service_tps, 1),
            "batch_latency_ms": percentiles_ms(out.service_latency),
            "peak_rss_mb": out.service_rss_mb,
        },
        "naive": {
            "texts_per_s": round(naive_tps, 1),
            "text_latency_ms": percentiles_ms(out.naive_latency),
        },
        "ratio": round(float(np.median(ratios)), 2),
        "ratio_per_round": [round(x, 2) for x in ratios],
        "sentiment_agreement": round(float(agree), 4),
        "process_peak_rss_mb": peak_rss_mb(),
    }
    if encoder.device.type == "cuda":
        result["cuda_max_allocated_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    if args.quality:
        result["quality"] = quality(classifier, settings.examples_path)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--texts", type=int, default=2000, help="corpus size (default 2000)")
    p.add_argument("--rounds", type=int, default=8, help="alternations of the two paths")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mix", choices=["mixed", "short"], default="mixed", help="text lengths")
    p.add_argument(
        "--batch-size",
        type=int,
        default=ClassifierSettings().max_batch,
        help="texts per classify call: the consumer's max_batch (default from settings)",
    )
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], help="default: settings")
    p.add_argument("--dtype", choices=["auto", "float32", "bfloat16", "float16"])
    p.add_argument("--threads", type=int, help="torch threads (default: the CPUs allowed)")
    p.add_argument("--quality", action="store_true", help="also held-out accuracy (test split)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--write", type=Path, help="also write classifier-<device>.md/.json here")
    args = p.parse_args(argv)
    log_to_stderr("WARNING")  # stdout carries the results
    try:
        result = run(args)
    except DeviceUnavailable as exc:
        print(f"benchmark: {exc}", file=sys.stderr)
        return 2
    markdown = render_markdown(result)
    print(json.dumps(result, indent=2) if args.json else markdown)
    if args.write:
        name = f"classifier-{result['machine']['device'].split(':')[0]}"
        name += "" if args.mix == "mixed" else f"-{args.mix}"
        args.write.mkdir(parents=True, exist_ok=True)
        (args.write / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        (args.write / f"{name}.md").write_text(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
