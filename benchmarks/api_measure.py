"""Timing the BI queries of `make bench-api` over real HTTP, and EXPLAIN ANALYZE of their SQL.

Requests go one at a time (no concurrency: this is latency, not throughput) from an httpx client
to the api server subprocess, the queries alternating round by round so load from elsewhere on
the machine falls on all of them alike. Each query varies its parameters between requests
(touchpoint, month), so no two consecutive requests of a query are the same.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.settings import ApiDatabaseSettings


@dataclass
class Query:
    name: str
    label: str
    target_ms: float | None
    urls: Callable[[int], str]  # request i -> path and query string


@dataclass
class Result:
    name: str
    label: str
    target_ms: float | None
    status: str = "ok"
    total_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    app_ms: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    example: str = ""
    explain: list[dict[str, Any]] = field(default_factory=list)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(values: Sequence[float]) -> dict[str, float | None]:
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "max": max(values) if values else None,
    }


def rows_of(body: Any) -> int:
    """Rows a JSON answer holds: `items`, else its first list."""
    if isinstance(body, dict):
        if isinstance(body.get("items"), list):
            return len(body["items"])
        for value in body.values():
            if isinstance(value, list):
                return len(value)
    return len(body) if isinstance(body, list) else 1


def parse_server_timing(header: str) -> tuple[float, float, int]:
    """(sql ms, app ms, statements) from the api_server's Server-Timing header."""
    sql_ms = app_ms = 0.0
    statements = 0
    for metric in header.split(","):
        name, *params = (p.strip() for p in metric.split(";"))
        values = dict(p.split("=", 1) for p in params if "=" in p)
        if name == "sql":
            sql_ms = float(values.get("dur", 0))
            statements = int(values.get("desc", "0").strip('"'))
        elif name == "app":
            app_ms = float(values.get("dur", 0))
    return sql_ms, app_ms, statements


def _get(client: httpx.Client, url: str, capture: bool) -> tuple[httpx.Response, float]:
    headers = {"X-Bench-Capture": "1"} if capture else {}
    t0 = time.perf_counter()
    response = client.get(url, headers=headers)
    response.read()
    return response, (time.perf_counter() - t0) * 1000


def measure(
    client: httpx.Client, queries: Sequence[Query], warmup: int, requests: int, say: Callable
) -> list[Result]:
    results = [Result(q.name, q.label, q.target_ms, example=q.urls(0)) for q in queries]
    live = list(range(len(queries)))
    for i in range(warmup):
        for qi in list(live):
            url = queries[qi].urls(i)
            response, _ = _get(client, url, capture=i < 2)
            if response.status_code != 200:
                live.remove(qi)
                results[qi].status = (
                    "not available (404)"
                    if response.status_code == 404
                    else f"failed: HTTP {response.status_code} {response.text[:300]}"
                )
                results[qi].example = url
                say(f"  {queries[qi].name}: {results[qi].status}")
    for i in range(requests):
        for qi in live:
            url = queries[qi].urls(warmup + i)
            response, total_ms = _get(client, url, capture=False)
            result = results[qi]
            if response.status_code != 200:
                result.status = f"failed: HTTP {response.status_code} on {url}"
                continue
            sql_ms, app_ms, statements = parse_server_timing(
                response.headers.get("server-timing", "")
            )
            result.total_ms.append(total_ms)
            result.sql_ms.append(sql_ms)
            result.app_ms.append(app_ms)
            result.statements.append(statements)
            result.rows.append(rows_of(response.json()))
        if (i + 1) % 10 == 0:
            say(f"  round {i + 1}/{requests}")
    return results


def _request_key(path: str, query: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return path, frozenset(parse_qsl(query))


def _param(value: Any) -> Any:
    if isinstance(value, dict) and "datetime" in value:
        return datetime.fromisoformat(value["datetime"])
    if isinstance(value, list):
        return [_param(v) for v in value]
    return value


def read_capture(capture_file: Path) -> list[dict[str, Any]]:
    """The statements api_server captured, one entry per capture request."""
    if not capture_file.exists():
        return []
    return [json.loads(line) for line in capture_file.read_text().splitlines()]


async def explain(
    engine: AsyncEngine, capture: Sequence[dict[str, Any]], results: Sequence[Result]
) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of each query's statements, as the server captured them for
    the query's first warm-up request (same SQL text and parameters as the API ran). The
    execution time is taken from a second run with TIMING OFF, which has no per-row clock
    overhead; the plan shown has per-node times."""
    captured = {_request_key(c["path"], c["query"]): c for c in capture}
    raw = await engine.raw_connection()
    try:
        conn = raw.driver_connection  # asyncpg: the statements use its $n placeholders
        assert conn is not None
        # The parameters the api's own connections start with (API_DATABASE__WORK_MEM).
        for name, value in ApiDatabaseSettings().server_settings().items():
            await conn.execute(f"SELECT set_config('{name}', $1, false)", value)
        for result in results:
            url = urlsplit(result.example)
            first = captured.get(_request_key(url.path, url.query))
            if first is None:
                continue
            # One transaction per request, as the api runs it: its SET LOCAL (a hybrid read
            # turns parallel workers off) applies to the statements after it, then ends.
            async with conn.transaction():
                for stmt in first["statements"]:
                    params = [_param(p) for p in stmt["params"] or ()]
                    sql = stmt["sql"]
                    if sql.lstrip().upper().startswith("SET "):
                        await conn.execute(sql)
                        continue
                    plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
                    lines = [r[0] for r in plan]
                    quiet = await conn.fetch("EXPLAIN (ANALYZE, TIMING OFF) " + sql, *params)
                    execution = next((r[0] for r in quiet if r[0].startswith("Execution Time")), "")
                    result.explain.append(
                        {
                            "query": f"{first['path']}?{first['query']}",
                            "sql": stmt["sql"],
                            "execution": execution,
                            "plan": lines,
                        }
                    )
        await conn.execute("RESET ALL")  # the machine report reads the server's own settings
    finally:
        raw.close()
