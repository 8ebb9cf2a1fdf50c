"""BI API latency as the facts grow: a year of 10 million facts, p50/p95 of the BI queries.

A benchmark, not a test: it prints figures and writes them, and never fails on a number.

1. Starts a throwaway embedded PostgreSQL (a temp dir, or `--reuse DIR`, which keeps the data
   and skips the seeding on a rerun with the same --facts/--end), runs the migrations, seeds
   the facts server-side (api_data.py) and builds rollups and slices (api_seed.py).
2. Serves the real API (api_server.py: uvicorn, auth off) in a subprocess and times, over
   HTTP, after a warm-up, alternating round by round (api_measure.py):
   a) a year of daily scores for one touchpoint (the top 10 touchpoints in turn),
   b) one month grouped by channel, granularity total and day (the 12 months in turn),
   c) drivers of NPS for one touchpoint and month, when /v1/drivers exists.
   Each request's SQL time comes back in a Server-Timing header; each query's statements get
   an EXPLAIN ANALYZE.
3. Prints a summary table; `--write DIR` writes DIR/api.md and DIR/api.json.

    python benchmarks/api.py [--facts 10000000] [--reuse DIR] [--write docs/bench]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file (`python benchmarks/api.py`): import as a package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from benchmarks.api_machine import load_average, machine_facts
from benchmarks.api_measure import explain, measure, read_capture
from benchmarks.api_queries import iso, queries, top_touchpoints
from benchmarks.api_report import facts_of, table, write
from benchmarks.api_seed import (
    SeedReport,
    build_rollups,
    load_facts,
    table_stats,
    vacuum_analyze,
)
from services.metrics.migrate import upgrade
from shared.db import async_url
from shared.embedded import EmbeddedPostgres, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[1]


def say(msg: str) -> None:
    print(msg, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python benchmarks/api.py", description=__doc__.split("\n")[0])
    p.add_argument("--facts", type=int, default=10_000_000, help="Facts to seed (default 10M).")
    p.add_argument("--end", default="2026-01-01", help="The year ends here (UTC, exclusive).")
    p.add_argument("--batch", type=int, default=1_000_000, help="Facts per INSERT statement.")
    p.add_argument("--reuse", type=Path, help="Keep the database here; reuse it if seeded alike.")
    p.add_argument("--rebuild", action="store_true", help="With --reuse: rebuild rollups/slices.")
    p.add_argument("--requests", type=int, default=60, help="Timed requests per query (≥ 50).")
    p.add_argument("--warmup", type=int, default=10, help="Untimed requests per query first.")
    p.add_argument("--write", type=Path, help="Write api.md and api.json into this directory.")
    return p.parse_args(argv)


def wanted(args: argparse.Namespace) -> SeedReport:
    end = datetime.fromisoformat(args.end).replace(tzinfo=UTC)
    return SeedReport(args.facts, iso(end - timedelta(days=365)), iso(end))


def seeded_alike(home: Path, fresh: SeedReport) -> SeedReport | None:
    """The seed report of a database in `home` seeded as `fresh` would be, if there is one."""
    previous = SeedReport.load(home / "seed.json")
    if previous is None:
        return None
    key = (previous.facts, previous.start, previous.end, previous.version)
    return previous if key == (fresh.facts, fresh.start, fresh.end, fresh.version) else None


async def seed(engine: AsyncEngine, args: argparse.Namespace, home: Path) -> SeedReport:
    fresh = wanted(args)
    start = datetime.fromisoformat(fresh.start)
    marker = home / "seed.json"
    previous = seeded_alike(home, fresh)
    if previous is not None:
        say(f"reusing the seeded database in {home} ({previous.facts:,} facts)")
        previous.reused = True
        if args.rebuild:  # the load's timings stay; the rebuild's are replaced
            await build_rollups(engine, previous, say)
            await vacuum_analyze(engine, previous, say)
            previous.save(marker)
        return previous
    async with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        # Fewer checkpoints during the bulk load; nothing that changes how a query runs.
        await conn.execute(text("ALTER SYSTEM SET max_wal_size = '8GB'"))
        await conn.execute(text("SELECT pg_reload_conf()"))
        await conn.execute(text("TRUNCATE feedback_facts, score_rollups, score_slices"))
    say(f"seeding {args.facts:,} facts from {fresh.start} to {fresh.end}")
    t0 = time.perf_counter()
    await load_facts(engine, fresh, start, args.batch, say)
    await build_rollups(engine, fresh, say)
    await vacuum_analyze(engine, fresh, say)
    fresh.timings_s["total"] = round(time.perf_counter() - t0, 2)
    say(f"  seeding total: {fresh.timings_s['total']:.1f} s")
    fresh.save(marker)
    return fresh


def start_api(db_url: str, home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "API_DATABASE__URL": db_url,
        "API_AUTH__ENABLED": "false",  # the documented local switch (README, Authentication)
        "VOC_ENV": "prod",  # JSON log lines, into api.log
        "API_LOG_LEVEL": "WARNING",
    }
    log = open(home / "api.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.api_server",
            "--port",
            str(port),
            "--capture",
            str(home / "capture.jsonl"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_for_port("127.0.0.1", port, 60, proc)
    return proc


async def run(args: argparse.Namespace, home: Path, db_url: str) -> dict[str, Any]:
    engine = create_async_engine(async_url(db_url), pool_size=2)
    try:
        report = await seed(engine, args, home)
        stats = await table_stats(engine)
        for name, t in stats["tables"].items():
            say(f"  {name}: {t['rows']:,} rows, {t['bytes'] / 2**20:,.0f} MB")
        touchpoints = await top_touchpoints(engine)
        start, end = datetime.fromisoformat(report.start), datetime.fromisoformat(report.end)
        port = free_port()
        capture = home / "capture.jsonl"
        capture.unlink(missing_ok=True)
        api = start_api(db_url, home, port)
        try:
            load_before = load_average()
            n, warm = args.requests, args.warmup
            say(f"measuring: {warm} warm-up + {n} timed requests per query, load {load_before}")
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
                results = measure(
                    client, queries(touchpoints, start, end), args.warmup, args.requests, say
                )
            load_after = load_average()
        finally:
            api.terminate()
            api.wait(30)
        await explain(engine, read_capture(capture), results)
        machine = await machine_facts(engine)
    finally:
        await engine.dispose()
    machine |= {"load_before": load_before, "load_after": load_after}
    return {
        "command": "python benchmarks/api.py " + shlex.join(sys.argv[1:]),
        "finished_at": iso(datetime.now(UTC).replace(microsecond=0)),
        "machine": machine,
        "seed": vars(report),
        "tables": stats,
        "touchpoints": touchpoints,
        "results": facts_of(results),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Throwaway data: durability would only cost seeding time.
    os.environ["VOC_PG_FSYNC_OFF"] = "1"
    home = args.reuse.resolve() if args.reuse else Path(tempfile.mkdtemp(prefix="voc-bench-api-"))
    home.mkdir(parents=True, exist_ok=True)
    if seeded_alike(home, wanted(args)) is None:
        # Seeding starts from an empty server: a half-done earlier load (indexes dropped) or
        # other data must not leak into the figures.
        (home / "seed.json").unlink(missing_ok=True)
        shutil.rmtree(home / "pgdata", ignore_errors=True)
    pg = EmbeddedPostgres(home / "pgdata", free_port()).start()
    try:
        db_url = pg.uri()
        upgrade(db_url)
        report = asyncio.run(run(args, home, db_url))
    finally:
        pg.stop()
        if not args.reuse:
            shutil.rmtree(home, ignore_errors=True)
    say("")
    say(table(report["results"]))
    machine = report["machine"]
    say(f"load average before {machine['load_before']}, after {machine['load_after']}")
    if args.write:
        write(report, args.write)
        say(f"wrote {args.write / 'api.md'} and {args.write / 'api.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
