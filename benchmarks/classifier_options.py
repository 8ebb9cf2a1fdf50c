"""Which encoder speed-ups to keep: throughput and held-out quality of each option, one run.

Each option is the bundled encoder as configured by default (bfloat16 where the CPU has it,
batches of at most 32 texts and 512 padded tokens) with one change: float32, batch widths
rounded up to a multiple of 8, batches by row count only (32 texts, the old behaviour), or
dynamic int8 quantisation of the Linear layers. For each, heads are trained on the train split
through that encoder and scored on the test split, so an option that changes the vectors is
judged by what it does to the published labels. Throughput
is the encoder alone over the benchmark corpus in consumer-sized calls, the options alternating
over rounds as in `benchmarks/classifier.py` once every batch shape has been planned; the first
pass, where oneDNN plans each new shape, is timed apart, in a fresh process per option.

    python -m benchmarks.classifier_options [--texts 1000] [--options float32,bfloat16,int8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.classifier import corpus
from services.classifier.cli import log_to_stderr
from services.classifier.nlp.encoder import Encoder
from services.classifier.nlp.heads import (
    SENTIMENT_LABELS,
    TOPIC_LABELS,
    HeadParams,
    parse_examples,
    train_heads,
)
from services.classifier.nlp.redact import redact
from services.classifier.settings import ClassifierSettings


def _int8(encoder: Encoder) -> Encoder:
    encoder.model = torch.ao.quantization.quantize_dynamic(
        encoder.model, {torch.nn.Linear}, dtype=torch.qint8
    )
    return encoder


OPTIONS: dict[str, Callable[[Path], Encoder]] = {
    "float32": lambda cache: Encoder(cache_dir=cache, dtype="float32"),
    "bfloat16": lambda cache: Encoder(cache_dir=cache, dtype="bfloat16"),
    "bfloat16-pad8": lambda cache: Encoder(cache_dir=cache, dtype="bfloat16", pad_to_multiple_of=8),
    "bfloat16-rows-only": lambda cache: Encoder(
        cache_dir=cache, dtype="bfloat16", batch_tokens=32 * 256
    ),
    "int8": lambda cache: _int8(Encoder(cache_dir=cache, dtype="float32")),
}


def held_out(encoder: Encoder, examples_path: Path) -> dict[str, float]:
    examples = parse_examples(examples_path.read_text("utf-8"))
    train = [e for e in examples if e.split == "train"]
    test = [e for e in examples if e.split == "test"]

    def embed(texts: list[str]) -> np.ndarray:
        return encoder.encode([redact(t) for t in texts])

    heads = train_heads(embed([e.text for e in train]), train, HeadParams(), "options")
    x = embed([e.text for e in test])
    sentiment = [SENTIMENT_LABELS[i] for i in heads.sentiment_probs(x).argmax(axis=1)]
    topic = [TOPIC_LABELS[i] for i in heads.topic_probs(x).argmax(axis=1)]
    sentiment_hits = [p == e.sentiment for p, e in zip(sentiment, test, strict=True)]
    topic_hits = [p == e.topics[0] for p, e in zip(topic, test, strict=True)]
    return {
        "sentiment_accuracy": round(float(np.mean(sentiment_hits)), 3),
        "primary_topic_accuracy": round(float(np.mean(topic_hits)), 3),
    }


def timed_pass(encoder: Encoder, texts: list[str], batch: int) -> float:
    t0 = time.perf_counter()
    for start in range(0, len(texts), batch):
        encoder.encode(texts[start : start + batch])
    return time.perf_counter() - t0


def first_pass_in_fresh_process(name: str, args: argparse.Namespace) -> float:
    """Seconds of one pass in a new process: oneDNN's plans for batch shapes are per process,
    so in this one the first option would plan shapes the others then reuse."""
    command = [sys.executable, "-m", "benchmarks.classifier_options", "--first-pass", name]
    command += ["--texts", str(args.texts), "--batch-size", str(args.batch_size)]
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=root)
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--texts", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=ClassifierSettings().max_batch)
    p.add_argument("--options", default=",".join(OPTIONS), help=f"of {', '.join(OPTIONS)}")
    p.add_argument("--first-pass", choices=list(OPTIONS), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    log_to_stderr("WARNING")  # stdout carries the results
    nlp = ClassifierSettings().nlp
    texts = [t for t, _ in corpus(nlp.examples_path, args.texts, seed=0)]
    if args.first_pass:
        encoder = OPTIONS[args.first_pass](nlp.cache_dir)
        encoder.encode(texts[:8])  # touch the weights, plan almost no shapes
        print(timed_pass(encoder, texts, args.batch_size))
        return 0
    names = args.options.split(",")
    first = {name: first_pass_in_fresh_process(name, args) for name in names}
    encoders = {name: OPTIONS[name](nlp.cache_dir) for name in names}
    later = dict.fromkeys(encoders, 0.0)
    for enc in encoders.values():
        timed_pass(enc, texts, args.batch_size)  # plan every shape before timing
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else reversed(names):
            later[name] += timed_pass(encoders[name], texts, args.batch_size)
    reference = encoders[names[0]].encode(texts[:200])
    result: dict[str, Any] = {
        "command": " ".join(["python -m benchmarks.classifier_options", *sys.argv[1:]]),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "texts": len(texts),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "options": {},
    }
    for name, enc in encoders.items():
        cosine = (enc.encode(texts[:200]) * reference).sum(axis=1)
        result["options"][name] = {
            "first_pass_texts_per_s": round(len(texts) / first[name], 1),
            "warm_texts_per_s": round(args.rounds * len(texts) / later[name], 1),
            f"min_cosine_to_{names[0]}": round(float(cosine.min()), 5),
            **held_out(enc, nlp.examples_path),
        }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
