"""`voc import --kind KIND --format FORMAT FILE`: argument parsing, wiring, output, exit code.

Exit codes: 0 every record accepted (duplicates and skipped records included), 1 some records
rejected, 2 usage or I/O error (bad arguments, unreadable file, service unreachable).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx
import orjson
import structlog
from pydantic import ValidationError
from tqdm import tqdm

from services.importer.client import IngestClient
from services.importer.errors import ImporterError
from services.importer.formats import FORMATS, Format
from services.importer.kinds import KINDS
from services.importer.records import Record
from services.importer.service import Batching, Importer
from services.importer.settings import ImporterSettings
from services.importer.summary import Summary
from shared.telemetry import configure_logging

USAGE_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    formats = "; ".join(f"{f.name}: {f.describe}" for f in FORMATS.values())
    parser = argparse.ArgumentParser(
        prog="voc import",
        description="Send a file of feedback through the ingestion services, in batches. "
        "Re-running an import is safe: items keep their ids, so nothing is counted twice.",
        epilog=f"Formats: {formats}. Exit codes: 0 all accepted, 1 some rejected, 2 usage or "
        "I/O error. Settings: IMPORT_URLS__<KIND>, IMPORT_BATCH_SIZE, IMPORT_CONCURRENCY, "
        "IMPORT_RETRY__MAX_ATTEMPTS.",
    )
    parser.add_argument("file", type=Path, help="the file to import")
    parser.add_argument("--kind", choices=list(KINDS), help="optional for vendor formats")
    parser.add_argument("--format", required=True, choices=list(FORMATS), dest="fmt")
    parser.add_argument("--url", help="base URL of the kind's ingestion service")
    parser.add_argument("--batch-size", type=int, help="items per request (at most 1000)")
    parser.add_argument("--concurrency", type=int, help="requests in flight (default 2)")
    parser.add_argument(
        "--rejects", type=Path, help="also write every rejected record here, one JSON per line"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="log retries and progress")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    fmt = FORMATS[args.fmt]
    kind = args.kind or (fmt.kinds[0] if len(fmt.kinds) == 1 else None)
    if kind is None:
        parser.error(f"--kind is required with --format {fmt.name}")
    if kind not in fmt.kinds:
        parser.error(f"--format {fmt.name} holds {' or '.join(fmt.kinds)}, not {kind}")
    if not args.file.is_file():
        print(f"voc import: error: {args.file}: no such file", file=sys.stderr)
        return USAGE_ERROR
    overrides = {
        "batch_size": args.batch_size,
        "concurrency": args.concurrency,
        "log_level": "INFO" if args.verbose else None,
    }
    try:
        settings = ImporterSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        parser.error(str(exc))
    _configure_logging(settings)
    url = args.url or settings.urls.for_kind(kind)
    try:
        summary = asyncio.run(
            _import(args.file, kind, fmt, settings, url, quiet=args.quiet or args.json)
        )
    except (ImporterError, OSError) as exc:
        print(f"voc import: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("voc import: interrupted; running it again is safe", file=sys.stderr)
        return 130
    print(orjson.dumps(summary.as_dict()).decode() if args.json else summary.render())
    if args.rejects is not None:
        try:
            write_rejects(summary, args.rejects)
        except OSError as exc:
            print(f"voc import: error: cannot write {args.rejects}: {exc}", file=sys.stderr)
            return USAGE_ERROR
    return summary.exit_code()


async def _import(
    path: Path, kind: str, fmt: Format, settings: ImporterSettings, url: str, *, quiet: bool
) -> Summary:
    records, total = open_records(path, fmt)
    bar = tqdm(
        total=total,
        unit=" records",
        file=sys.stderr,
        disable=quiet or not sys.stderr.isatty(),
        mininterval=0.25,
    )
    timeout = httpx.Timeout(settings.timeout_s)
    with bar:
        async with httpx.AsyncClient(base_url=url, timeout=timeout) as http:
            return await run_import(records, kind, fmt, settings, http, path, bar.update)


def open_records(path: Path, fmt: Format) -> tuple[Iterable[Record], int | None]:
    """The file's records, and how many there are when that is cheap to know."""
    if fmt.count is not None:
        return fmt.read(path), fmt.count(path)
    if fmt.buffered:
        records = list(fmt.read(path))
        return records, len(records)
    return fmt.read(path), None


async def run_import(
    records: Iterable[Record],
    kind: str,
    fmt: Format,
    settings: ImporterSettings,
    http: httpx.AsyncClient,
    path: Path,
    progress: Callable[[int], object] = lambda _: None,
) -> Summary:
    """Import `records` through `http` (a client whose base URL is the kind's service)."""
    client = IngestClient(
        http, KINDS[kind].path, settings.retry, request_id=f"import-{uuid.uuid4().hex[:16]}"
    )
    batching = Batching(settings.batch_size, settings.max_batch_bytes, settings.concurrency)
    summary = Summary(file=str(path), kind=kind, format=fmt.name)
    return await Importer(client, batching, summary, progress).run(records)


def write_rejects(summary: Summary, path: Path) -> None:
    """Every rejection as `{"where", "line", "reason", "item"}`, in file order."""
    with path.open("wb") as f:
        for r in summary.sorted_rejections():
            row = {"where": r.where, "line": r.line, "reason": r.reason, "item": r.item}
            f.write(orjson.dumps(row) + b"\n")


def _configure_logging(settings: ImporterSettings) -> None:
    configure_logging(settings.service_name, env=settings.env, level=settings.log_level)
    # Logs go to stderr beside the progress bar; stdout carries only the summary.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
