"""Output of `make bench-api`: the summary table on stdout, api.md and api.json under --write."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.api_measure import Result, summary


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def result_facts(r: Result) -> dict[str, Any]:
    other = [t - s for t, s in zip(r.total_ms, r.sql_ms, strict=True)]
    return {
        "name": r.name,
        "label": r.label,
        "status": r.status,
        "target_p95_ms": r.target_ms,
        "requests": len(r.total_ms),
        "rows": sorted(set(r.rows)),
        "statements_per_request": sorted(set(r.statements)),
        "total_ms": summary(r.total_ms),
        "sql_ms": summary(r.sql_ms),
        "server_ms": summary(r.app_ms),
        "other_ms": summary(other),
        "example": r.example,
        "explain": r.explain,
    }


def _verdict(f: dict[str, Any]) -> str:
    target, p95 = f["target_p95_ms"], f["total_ms"]["p95"]
    if target is None or p95 is None:
        return ""
    if p95 <= target:
        return f"met (≤ {target:.0f})"
    return f"missed by {p95 - target:.1f} ms ({p95 / target:.1f}x)"


def table(facts: Sequence[dict[str, Any]]) -> str:
    head = (
        "| query | requests | rows | p50 ms | p95 ms | max ms | SQL p50 / p95 ms | "
        "rest p50 ms | p95 target |\n|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for f in facts:
        if f["status"] != "ok":
            lines.append(f"| {f['label']} | – | – | – | – | – | – | – | {f['status']} |")
            continue
        t, s, o = f["total_ms"], f["sql_ms"], f["other_ms"]
        rows = "/".join(str(n) for n in f["rows"])
        lines.append(
            f"| {f['label']} | {f['requests']} | {rows} | {_ms(t['p50'])} | {_ms(t['p95'])} | "
            f"{_ms(t['max'])} | {_ms(s['p50'])} / {_ms(s['p95'])} | {_ms(o['p50'])} | "
            f"{_verdict(f)} |"
        )
    return head + "\n".join(lines) + "\n"


def markdown(report: dict[str, Any]) -> str:
    m, seed, stats = report["machine"], report["seed"], report["tables"]
    out = [
        "# BI API latency over a year of facts (`make bench-api`)\n",
        f"Command: `{report['command']}`  ",
        f"Run at {report['finished_at']}. A benchmark, not a test: it never fails on a number.\n",
        "Each request is timed at the client (httpx, one request at a time, real HTTP to "
        "uvicorn serving `services.api.app.create_app`, auth off). *SQL* is the time the "
        "server spent in its statements (send, execute, fetch every row; from SQLAlchemy's "
        "cursor events, reported in a `Server-Timing` header); *rest* = total − SQL: "
        "connection checkout and ping, BEGIN/ROLLBACK, parameter validation, score maths, "
        "JSON and HTTP. Percentiles are nearest-rank.\n",
        table(report["results"]),
        "## Machine\n",
        f"- CPU: {m['cpu']} ({m['cores']} cores), {m['memory_gb']} GB memory; Python {m['python']}",
        f"- PostgreSQL: {m['postgres']} (embedded, fsync off, settings: {m['pg_settings']})",
        f"- Load average (1/5/15 min) before measuring: {m['load_before']}, after: "
        f"{m['load_after']}; other work on the machine was not stopped.",
        "\n## Data\n",
        f"- {seed['facts']:,} facts from {seed['start']} to {seed['end']} "
        f"({'reused data directory' if seed['reused'] else 'seeded in this run'})",
        f"- Rollups: {seed['rollups_by']}; slices: {seed['slices']}",
        "- Seed timings (s): " + ", ".join(f"{k} {v}" for k, v in seed["timings_s"].items()),
        f"- Database size {_mb(stats['database_bytes'])}",
        "\n| table | rows | size (with indexes) |\n|---|---|---|",
        *(f"| {name} | {t['rows']:,} | {_mb(t['bytes'])} |" for name, t in stats["tables"].items()),
    ]
    if stats["slices"]:
        out.append("\nSlice rows: " + ", ".join(f"{k} {v:,}" for k, v in stats["slices"].items()))
    out.append("\n## Statements (EXPLAIN ANALYZE of each query's first request)\n")
    for f in report["results"]:
        for e in f["explain"]:
            out += [
                f"### {f['label']}\n",
                f"`{e['query']}` — {e['execution']} (TIMING OFF run)\n",
                "```",
                *e["plan"],
                "```\n",
            ]
    return "\n".join(out) + "\n"


def write(report: dict[str, Any], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "api.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (directory / "api.md").write_text(markdown(report))


def facts_of(results: Sequence[Result]) -> list[dict[str, Any]]:
    return [result_facts(r) for r in results]
