"""`voc classify`: JSON lines of texts in, JSON lines of classifications out.

For backtesting and support teams. It builds the classifier exactly as the service does
(`build_classifier` with the `CLASSIFIER_NLP__*` settings) and calls `classify` on batches of
the input, so a line gets the same answer here as in the pipeline. Input is read and written a
batch at a time: memory stays bounded however long the file. Malformed lines are reported on
stderr with their line number and skipped; the exit status is then 1.

    python -m services.classifier.cli --input feedback.jsonl > classified.jsonl
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import structlog

from services.classifier.nlp.encoder import DeviceUnavailable, ModelLabelsError
from services.classifier.nlp.pipeline import TextClassifier, TextInput, TextResult, build_classifier
from services.classifier.settings import ClassifierSettings

EXIT_BAD_LINES = 1
EXIT_USAGE = 2


@dataclass(frozen=True, slots=True)
class Item:
    id: Any  # the input's id, else the line number
    text: str
    lang: str | None


class BadLine(ValueError):
    pass


def parse_line(raw: bytes, lineno: int) -> Item:
    try:
        row = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadLine(f"not UTF-8 (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise BadLine(f"not JSON: {exc.msg}") from exc
    if not isinstance(row, dict):
        raise BadLine("not a JSON object")
    text, lang, item_id = row.get("text"), row.get("lang"), row.get("id", lineno)
    if not isinstance(text, str):
        raise BadLine("'text' must be a string")
    if lang is not None and not isinstance(lang, str):
        raise BadLine("'lang' must be a string")
    if isinstance(item_id, bool) or not isinstance(item_id, str | int):
        raise BadLine("'id' must be a string or an integer")
    return Item(item_id, text, lang)


def to_json(item: Item, result: TextResult, model_version: str) -> dict[str, Any]:
    s = result.sentiment
    return {
        "id": item.id,
        "language": result.language,
        "language_confidence": result.language_confidence,
        "sentiment": None
        if s is None
        else {"label": s.label.value, "score": s.score, "confidence": s.confidence},
        "topics": [{"label": label.value, "score": score} for label, score in result.topics],
        "redacted_text": result.redacted_text,
        "unscored": result.unscored,
        "unscored_reason": result.unscored_reason,
        "model_version": model_version,
    }


def batches(lines: Iterable[bytes], size: int, errors: IO[str]) -> Iterator[tuple[list[Item], int]]:
    """Valid items in batches of `size`, with the count of bad lines found while filling each."""
    batch: list[Item] = []
    bad = 0
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            batch.append(parse_line(line, lineno))
        except BadLine as exc:
            print(f"line {lineno}: {exc}", file=errors)
            bad += 1
        if len(batch) >= size:
            yield batch, bad
            batch, bad = [], 0
    if batch or bad:
        yield batch, bad


def classify_stream(
    classifier: TextClassifier,
    lines: Iterable[bytes],
    out: IO[str],
    errors: IO[str],
    *,
    batch_size: int,
) -> tuple[int, int]:
    """Classify every valid line; returns (written, bad lines)."""
    written = bad_total = 0
    for items, bad in batches(lines, batch_size, errors):
        bad_total += bad
        if not items:
            continue
        results = classifier.classify([TextInput(i.text, i.lang) for i in items])
        for item, result in zip(items, results, strict=True):
            row = to_json(item, result, classifier.model_version)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        written += len(items)
        out.flush()  # a consumer piping the output sees each batch as it is done
    return written, bad_total


def log_to_stderr(level: str) -> None:
    # stdout carries the results, so the model's start-up logs must not land there.
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level.upper(), force=True)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
    )


def _parser(default_batch: int) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voc classify",
        description="Classify JSON lines ({text, id?, lang?}) as the classifier service does.",
    )
    parser.add_argument("--input", default="-", help="JSON lines file, or - for stdin (default)")
    parser.add_argument("--output", default="-", help="file to write, or - for stdout (default)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=default_batch,
        help=f"texts per classify call, as the service's batch (default {default_batch})",
    )
    parser.add_argument("--log-level", default="WARNING", help="start-up logs on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = ClassifierSettings()
    args = _parser(settings.max_batch).parse_args(argv)
    if args.batch_size < 1:
        print("--batch-size must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    log_to_stderr(args.log_level)
    with contextlib.ExitStack() as stack:
        try:
            # Bytes in, so that a line that is not UTF-8 is reported like any other bad line.
            source: IO[bytes] = (
                sys.stdin.buffer
                if args.input == "-"
                else stack.enter_context(open(args.input, "rb"))
            )
            sink: IO[str] = (
                sys.stdout
                if args.output == "-"
                else stack.enter_context(open(args.output, "w", encoding="utf-8"))
            )
        except OSError as exc:
            print(f"voc classify: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if sink is sys.stdout:
            sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[attr-defined]
        try:
            classifier = build_classifier(settings.nlp)
        except (DeviceUnavailable, ModelLabelsError, FileNotFoundError) as exc:
            print(f"voc classify: {exc}", file=sys.stderr)  # a configuration to fix, not a bug
            return EXIT_USAGE
        _, bad = classify_stream(classifier, source, sink, sys.stderr, batch_size=args.batch_size)
    if bad:
        print(f"voc classify: {bad} bad line(s) skipped", file=sys.stderr)
        return EXIT_BAD_LINES
    return 0


if __name__ == "__main__":
    sys.exit(main())
