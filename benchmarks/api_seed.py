"""Seeding for `make bench-api`: a throwaway embedded PostgreSQL, migrated, with a year of facts.

The facts go in with one INSERT ... SELECT per batch (api_data.py) while the facts table has no
indexes and no autovacuum; the indexes are rebuilt afterwards from their own definitions, which
is several times faster than maintaining a random-UUID primary key row by row. Rollups and
slices come from `services.metrics.rebuild` when that exists; until then the rollups are filled
here with one GROUP BY mirroring services/metrics/contributions.parts, and slices are skipped.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from benchmarks.api_data import insert_sql
from shared.tables import ROLLUP_DIMENSIONS

FACTS = "feedback_facts"
SEED_VERSION = 2  # bump when api_data's distributions change: a reused data dir is reseeded
Say = Callable[[str], None]

# Additive parts of score_rollups from the facts, as services/metrics/contributions.parts.
_SCORED = "sentiment_score IS NOT NULL AND NOT unscored"
ROLLUP_PARTS = {
    "n": "count(*)",
    "nps_n": "count(nps)",
    "nps_promoters": "count(*) FILTER (WHERE nps >= 9)",
    "nps_passives": "count(*) FILTER (WHERE nps BETWEEN 7 AND 8)",
    "nps_detractors": "count(*) FILTER (WHERE nps <= 6)",
    "csat_n": "count(csat)",
    "csat_sum": "coalesce(sum(csat), 0)",
    "csat_satisfied": "count(*) FILTER (WHERE csat >= 4)",
    "ces_n": "count(ces)",
    "ces_sum": "coalesce(sum(ces), 0)",
    "ces_sumsq": "coalesce(sum(ces * ces), 0)",
    "ces_easy": "count(*) FILTER (WHERE ces >= 5)",
    "stars_n": "count(stars)",
    "stars_sum": "coalesce(sum(stars), 0)",
    "stars_sumsq": "coalesce(sum(stars * stars), 0)",
    "sentiment_n": f"count(*) FILTER (WHERE {_SCORED})",
    "sentiment_sum": f"coalesce(sum(sentiment_score) FILTER (WHERE {_SCORED}), 0)",
    "sentiment_sumsq": f"coalesce(sum(sentiment_score ^ 2) FILTER (WHERE {_SCORED}), 0)",
    "sentiment_negative": (f"count(*) FILTER (WHERE {_SCORED} AND sentiment_label = 'negative')"),
}


@dataclass
class SeedReport:
    facts: int
    start: str
    end: str
    version: int = SEED_VERSION
    timings_s: dict[str, float] = field(default_factory=dict)
    rollups_by: str = ""
    slices: str = ""
    reused: bool = False

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> SeedReport | None:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None


class Timer:
    def __init__(self, report: SeedReport, say: Say) -> None:
        self.report, self.say = report, say

    async def run(self, name: str, coro: Any) -> Any:
        t0 = time.perf_counter()
        result = await coro
        self.report.timings_s[name] = round(time.perf_counter() - t0, 2)
        self.say(f"  {name}: {self.report.timings_s[name]:.1f} s")
        return result


async def _exec(engine: AsyncEngine, sql: str, **params: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(sql), params)


async def _fact_indexes(engine: AsyncEngine) -> tuple[list[str], list[str]]:
    """(drop statements, create statements) for every index of the facts table, PK included."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition, "
                    "c.conname AS constraint_name, pg_get_constraintdef(c.oid) AS constraint_def "
                    "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                    "LEFT JOIN pg_constraint c ON c.conindid = i.oid AND c.contype = 'p' "
                    "WHERE x.indrelid = CAST(:t AS regclass)"
                ),
                {"t": FACTS},
            )
        ).mappings()
        drops, creates = [], []
        for r in rows:
            if r["constraint_name"]:
                drops.append(f'ALTER TABLE {FACTS} DROP CONSTRAINT "{r["constraint_name"]}"')
                creates.append(
                    f'ALTER TABLE {FACTS} ADD CONSTRAINT "{r["constraint_name"]}" '
                    f"{r['constraint_def']}"
                )
            else:
                drops.append(f'DROP INDEX "{r["name"]}"')
                creates.append(r["definition"])
    return drops, creates


async def load_facts(
    engine: AsyncEngine, report: SeedReport, start: datetime, batch: int, say: Say
) -> None:
    """Insert report.facts facts in batches; indexes dropped during the load, rebuilt after."""
    timer = Timer(report, say)
    drops, creates = await _fact_indexes(engine)
    for stmt in [*drops, f"ALTER TABLE {FACTS} SET (autovacuum_enabled = false)"]:
        await _exec(engine, stmt)
    sql = insert_sql(start.weekday())
    t0 = time.perf_counter()
    for lo in range(1, report.facts + 1, batch):
        hi = min(report.facts, lo + batch - 1)
        async with engine.begin() as conn:
            await conn.execute(text("SELECT setseed(:s)"), {"s": (lo % 9973) / 9973})
            await conn.execute(text(sql), {"lo": lo, "hi": hi, "start": start})
        rate = hi / (time.perf_counter() - t0)
        say(f"  facts {hi:>11,} / {report.facts:,}  ({rate:,.0f} rows/s)")
    report.timings_s["insert_facts"] = round(time.perf_counter() - t0, 2)

    async def build_indexes() -> None:
        for stmt in creates:
            await _exec(engine, stmt)

    await timer.run("fact_indexes", build_indexes())
    await _exec(engine, f"ALTER TABLE {FACTS} RESET (autovacuum_enabled)")


def _rebuild_function() -> Callable[..., Any] | None:
    try:
        module = importlib.import_module("services.metrics.rebuild")
    except ImportError:
        return None
    return getattr(module, "rebuild", None)


def fallback_rollups_sql() -> str:
    keys = ["bucket_start", *ROLLUP_DIMENSIONS]
    names = ", ".join([*keys, *ROLLUP_PARTS])
    parts = ", ".join(ROLLUP_PARTS.values())
    return (
        f"INSERT INTO score_rollups ({names}) SELECT {', '.join(keys)}, {parts} "
        f"FROM {FACTS} WHERE NOT deleted GROUP BY {', '.join(keys)}"
    )


async def build_rollups(engine: AsyncEngine, report: SeedReport, say: Say) -> None:
    timer = Timer(report, say)
    rebuild = _rebuild_function()
    if rebuild is not None:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            await session.execute(text("SET LOCAL work_mem = '256MB'"))
            await timer.run("rebuild_rollups_and_slices", rebuild(session))
            await session.commit()
        report.rollups_by = report.slices = "services.metrics.rebuild.rebuild"
        return
    say("  services.metrics.rebuild not importable: rollups by the benchmark's own GROUP BY")
    await _exec(engine, "TRUNCATE score_rollups, score_slices")
    await timer.run("fallback_rollups", _exec(engine, fallback_rollups_sql()))
    report.rollups_by = "benchmark fallback GROUP BY (no services.metrics.rebuild)"
    report.slices = "skipped: services.metrics.rebuild not available"
    say(f"  slices {report.slices}")


async def vacuum_analyze(engine: AsyncEngine, report: SeedReport, say: Say) -> None:
    timer = Timer(report, say)
    # VACUUM cannot run in a transaction block: AUTOCOMMIT. It also sets the visibility map,
    # which index-only scans on the rollups rely on, as autovacuum would do in production.
    conn_engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def run() -> None:
        async with conn_engine.connect() as conn:
            for table in (FACTS, "score_rollups", "score_slices"):
                await conn.execute(text(f"VACUUM (ANALYZE) {table}"))

    await timer.run("vacuum_analyze", run())


async def table_stats(engine: AsyncEngine) -> dict[str, Any]:
    """Row counts and on-disk sizes (pg_total_relation_size: heap, indexes and TOAST)."""
    out: dict[str, Any] = {"tables": {}, "slices": {}}
    async with engine.connect() as conn:
        for table in (FACTS, "score_rollups", "score_slices"):
            row = (
                await conn.execute(
                    text(
                        f"SELECT count(*) AS rows, pg_total_relation_size('{table}') AS total, "
                        f"pg_relation_size('{table}') AS heap FROM {table}"
                    )
                )
            ).one()
            out["tables"][table] = {"rows": row.rows, "bytes": row.total, "heap_bytes": row.heap}
        by_slice = await conn.execute(
            text("SELECT slice, count(*) AS rows FROM score_slices GROUP BY slice ORDER BY slice")
        )
        out["slices"] = {r.slice: r.rows for r in by_slice}
        out["database_bytes"] = (
            await conn.execute(text("SELECT pg_database_size(current_database())"))
        ).scalar_one()
    return out
