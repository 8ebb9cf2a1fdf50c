"""Every query we ship, run against the real thing.

The stack runs as `make run` starts it, a real Prometheus scrapes it and evaluates our rules,
and `traffic.drive` has gone through all four ingestion services. Then every PromQL expression
of every dashboard panel and every rule must parse and, where the traffic went, return data;
every SQL query of the scores dashboard runs on the stack's PostgreSQL with Grafana's variables
and macros expanded, and returns the rows the traffic produced.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
import yaml
from scipy import stats

from deploy.grafana.dashgen import service_detail
from deploy.grafana.dashgen.inventory import custom_values, queries
from tests.helpers import eventually
from tests.integration.ops import grafana
from tests.integration.ops.processes import REPO, RULE_FILES, RunningPrometheus
from tests.integration.ops.traffic import Expected, drive
from tests.stack import RunningStack

BOARDS = {
    p.stem: json.loads(p.read_text()) for p in (REPO / "deploy/grafana/dashboards").glob("*.json")
}
# What Grafana would pick for a short range at a 1 s scrape interval, rounded up.
PROM_VARIABLES = {"__rate_interval": "1m", "__interval": "15s"}

# Expressions that must come back empty after `drive`, and why. One that starts returning data
# fails the test: the list is stale, drop the entry.
EXPECTED_EMPTY: dict[tuple[str, str, str], str] = {
    ("voc-service", "Dead-lettered and retried", "B"):
        "no transient failure: the database and the broker stay up",
}  # fmt: skip
# The service dashboard's consumer row is for classifier and metrics: for the HTTP-only
# services (api and the four ingestion services) its metrics do not exist.
EXPECTED_EMPTY_ROWS = {("voc-service", service_detail.CONSUMER_ROW): {"classifier", "metrics"}}
EXPECTED_EMPTY_ALERTS = {
    "VocConsumerLagGrowing": "the consumers keep up with a few dozen records",
    "VocIngestErrorRatioHigh": "no 5xx: the broker stays up",
    "VocWebhookSignatureFailureBurst": "one forged delivery is under the burst threshold",
    "VocSourceSilent": "needs two hours of history, and every source has just sent",
    "VocClassifierUnscoredRateHigh": "every text is in a scored language",
    "VocServiceDown": "every service is up",
}
# VocDeadLetterTraffic must fire: drive puts one undecodable record into each consumer's topic.
# Alerts whose threshold the traffic stays under: the expression without it must have data, so
# its selector and labels are proven on the real series.
THRESHOLDS = {"VocWebhookSignatureFailureBurst": " > 10"}


def t_margin(answers: list[int]) -> float:
    """The 95% t margin of the mean, computed here from the answers themselves."""
    n = len(answers)
    return float(stats.t.ppf(0.975, n - 1)) * statistics.stdev(answers) / math.sqrt(n)


def _rules() -> list[dict[str, Any]]:
    return [
        rule
        for p in RULE_FILES
        for g in yaml.safe_load(p.read_text())["groups"]
        for rule in g["rules"]
    ]


def _prom_checks() -> list[tuple[str, str, bool]]:
    """(what, PromQL, expect data) for every dashboard target and every rule."""
    checks = []
    for board in BOARDS.values():
        services = custom_values(board, "service") if board["uid"] == "voc-service" else [None]
        for q in queries(board):
            if q.datasource != "prometheus":
                continue
            for service in services:
                values = {**PROM_VARIABLES, **({"service": service} if service else {})}
                expr = grafana.interpolate(q.text, values, sql=False)
                for_services = EXPECTED_EMPTY_ROWS.get((q.dashboard, q.row))
                empty = q.key in EXPECTED_EMPTY or (
                    for_services is not None and service not in for_services
                )
                checks.append((" / ".join([*q.key, service or ""]), expr, not empty))
    for rule in _rules():
        name = rule.get("alert") or rule["record"]
        checks.append((f"rule {name}", rule["expr"], name not in EXPECTED_EMPTY_ALERTS))
        if name in THRESHOLDS:
            assert rule["expr"].endswith(THRESHOLDS[name]), (name, rule["expr"])
            below = rule["expr"].removesuffix(THRESHOLDS[name])
            checks.append((f"rule {name} without its threshold", below, True))
    return checks


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
async def expected(
    stack: RunningStack, prometheus: RunningPrometheus, client: httpx.AsyncClient
) -> Expected:
    return await drive(stack, client)


async def _query(
    client: httpx.AsyncClient, prom: RunningPrometheus, expr: str, at: float | None = None
) -> dict[str, Any]:
    params = {"query": expr} if at is None else {"query": expr, "time": str(at)}
    resp = await client.get(f"{prom.url}/api/v1/query", params=params)
    body: dict[str, Any] = resp.json()
    return body


class TestPromqlOfDashboardsAndRules:
    async def test_every_expression_parses_and_returns_data_where_traffic_went(
        self, prometheus: RunningPrometheus, client: httpx.AsyncClient, expected: Expected
    ) -> None:
        checks = _prom_checks()
        assert len(checks) > 50
        # Parsing does not depend on data: every expression first, once.
        errors = []
        for what, expr, _ in checks:
            body = await _query(client, prometheus, expr)
            if body["status"] != "success":
                errors.append(f"{what}: {body.get('error')}\n  {expr}")
        assert errors == []

        async def mismatches() -> list[str]:
            out = []
            for what, expr, want_data in checks:
                got_data = bool((await _query(client, prometheus, expr))["data"]["result"])
                if got_data != want_data:
                    state = "no data" if want_data else "data, but listed as expected empty"
                    out.append(f"{what}: {state}\n  {expr}")
            return out

        # Prometheus scrapes and evaluates the rules every second: poll until it has seen the
        # whole traffic.
        await eventually(mismatches, lambda found: not found, timeout_s=90, interval_s=1)

    async def test_prometheus_evaluates_every_rule_and_the_dlq_alert_fires(
        self, prometheus: RunningPrometheus, client: httpx.AsyncClient, expected: Expected
    ) -> None:
        async def rules() -> list[dict[str, Any]]:
            resp = await client.get(f"{prometheus.url}/api/v1/rules")
            return [r for g in resp.json()["data"]["groups"] for r in g["rules"]]

        loaded = await eventually(
            rules, lambda rs: all(r.get("lastEvaluation", "0001").startswith("20") for r in rs)
        )
        assert {r["name"] for r in loaded} == {r.get("alert") or r["record"] for r in _rules()}
        assert [(r["name"], r.get("lastError")) for r in loaded if r["health"] != "ok"] == []

        async def firing() -> set[tuple[str, str]]:
            resp = await client.get(f"{prometheus.url}/api/v1/alerts")
            return {
                (a["labels"]["alertname"], a["labels"].get("job", ""))
                for a in resp.json()["data"]["alerts"]
                if a["state"] == "firing"
            }

        alerts = await eventually(
            firing,
            lambda a: (
                {("VocDeadLetterTraffic", "classifier"), ("VocDeadLetterTraffic", "metrics")} <= a
            ),
            timeout_s=60,
        )
        assert {name for name, _ in alerts} == {"VocDeadLetterTraffic"}

    async def test_end_to_end_latency_is_observed_once_per_fact_written(
        self, prometheus: RunningPrometheus, client: httpx.AsyncClient, expected: Expected
    ) -> None:
        async def counts() -> tuple[float, float, set[str]]:
            # Both at one evaluation time, so both see the same scrape.
            at = datetime.now(UTC).timestamp() - 1
            by_kind = "sum by (source_kind) (voc_metrics_end_to_end_seconds_count)"
            observed = await _query(client, prometheus, by_kind, at)
            written = await _query(client, prometheus, "sum(voc_metrics_facts_written_total)", at)
            kinds = {
                r["metric"]["source_kind"]: float(r["value"][1]) for r in observed["data"]["result"]
            }
            total = sum(float(r["value"][1]) for r in written["data"]["result"])
            return sum(kinds.values()), total, set(kinds)

        # One fact per item plus the revised one.
        n, written, kinds = await eventually(
            counts, lambda c: c[1] >= expected.items + 1, timeout_s=60
        )
        assert n == written
        assert kinds == set(expected.by_kind)


# --- SQL of the scores dashboard -----------------------------------------------------------


@pytest.fixture(scope="module")
async def database(stack: RunningStack, expected: Expected) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(stack.database_url)
    yield conn
    await conn.close()


class Grafana:
    """Runs the CX dashboard's SQL the way Grafana would for the last six hours."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.to = datetime.now(UTC)
        self.since = self.to - timedelta(hours=6)
        self.board = BOARDS["voc-cx-scores"]
        self.queries = {q.panel: q for q in queries(self.board) if q.datasource == "postgres"}

    async def run(self, sql: str, **variables: grafana.Value) -> list[dict[str, Any]]:
        text = grafana.interpolate(sql, {"__interval": "1h", **variables}, sql=True)
        text = grafana.sql_macros(text, self.since, self.to)
        async with self.conn.transaction(readonly=True):  # a reader's rights are enough
            records = await self.conn.fetch(text)
        # Grafana reads numeric columns as floats; so do we.
        return [
            {k: float(v) if isinstance(v, Decimal) else v for k, v in r.items()} for r in records
        ]

    async def variable(self, name: str) -> list[str]:
        return [
            next(iter(r.values())) for r in await self.run(self.queries[f"variable {name}"].text)
        ]

    async def panel(self, title: str, **variables: grafana.Value) -> list[dict[str, Any]]:
        return await self.run(self.queries[title].text, **variables)


@pytest.fixture(scope="module")
async def cx(database: asyncpg.Connection) -> Grafana:
    return Grafana(database)


class TestScoresDashboardSql:
    async def test_variables_list_what_the_traffic_touched(
        self, cx: Grafana, expected: Expected
    ) -> None:
        assert set(await cx.variable("source_kind")) == set(expected.by_kind)
        touchpoints = set(await cx.variable("touchpoint"))
        assert {"checkout", "customer_support", "product"} <= touchpoints

    async def test_every_query_runs_and_returns_rows(self, cx: Grafana, expected: Expected) -> None:
        everything = {n: await cx.variable(n) for n in ("touchpoint", "source_kind")}
        for q in cx.queries.values():
            if q.repeat == "touchpoint":
                for tp in everything["touchpoint"]:
                    rows = await cx.run(
                        q.text, touchpoint=[tp], source_kind=everything["source_kind"]
                    )
                    assert bool(rows) == (tp in expected.scored[q.panel]), (q.panel, tp, rows)
            else:
                assert await cx.run(q.text, **everything), q.panel

    async def test_headline_matches_the_traffic(self, cx: Grafana, expected: Expected) -> None:
        [row] = await cx.panel("Selected range", **await self._all(cx))
        assert row["items"] == expected.items
        assert row["NPS"] == pytest.approx(expected.nps)
        assert row["CSAT %"] == pytest.approx(expected.csat_overall)
        assert row["CES"] == pytest.approx(expected.ces_overall)
        assert row["stars"] == pytest.approx(3.0)

    async def test_volume_by_source_kind_counts_every_item(
        self, cx: Grafana, expected: Expected
    ) -> None:
        rows = await cx.panel("Volume by source kind", **await self._all(cx))
        by_kind: dict[str, int] = {}
        for row in rows:
            by_kind[row["metric"]] = by_kind.get(row["metric"], 0) + row["items"]
        assert by_kind == expected.by_kind

    async def test_journey_stages_sum_their_touchpoints(
        self, cx: Grafana, expected: Expected
    ) -> None:
        rows = await cx.panel("Journey-stage summary", **await self._all(cx))
        assert {r["stage"]: r["items"] for r in rows} == expected.by_stage
        conversion = next(r for r in rows if r["stage"] == "conversion")
        assert conversion["NPS"] == pytest.approx(expected.nps)
        assert conversion["NPS n"] == expected.nps_n
        # Checkout is the conversion stage's only touchpoint; delivery's one answer is retention's.
        checkout = expected.ces["checkout"]
        assert conversion["CES"] == pytest.approx(statistics.mean(checkout))
        assert conversion["CES ±"] == pytest.approx(t_margin(checkout), rel=1e-3)
        assert conversion["CES n"] == len(checkout)
        retention = next(r for r in rows if r["stage"] == "retention")
        assert (retention["CES n"], retention["CES ±"]) == (1, None)

    async def test_nps_per_touchpoint_has_its_band_and_n(
        self, cx: Grafana, expected: Expected
    ) -> None:
        everything = await self._all(cx)
        [row] = await cx.panel("NPS", **{**everything, "touchpoint": ["checkout"]})
        assert row["NPS"] == pytest.approx(expected.nps)
        assert row["n"] == expected.nps_n  # the employee's answer is not in it
        assert row["lower"] < row["NPS"] < row["upper"]
        p, d = expected.nps_shares
        moe = 196 * math.sqrt((p + d - (p - d) ** 2) / expected.nps_n)
        assert row["upper"] - row["NPS"] == pytest.approx(moe)

    async def test_csat_per_touchpoint(self, cx: Grafana, expected: Expected) -> None:
        everything = await self._all(cx)
        for tp, (value, n) in expected.csat.items():
            [row] = await cx.panel("CSAT", **{**everything, "touchpoint": [tp]})
            assert (row["CSAT %"], row["n"]) == (pytest.approx(value), n)

    async def test_ces_per_touchpoint_has_its_t_interval_band_and_n(
        self, cx: Grafana, expected: Expected
    ) -> None:
        everything = await self._all(cx)
        answers = expected.ces["checkout"]
        [row] = await cx.panel("CES", **{**everything, "touchpoint": ["checkout"]})
        assert row["CES mean"] == pytest.approx(statistics.mean(answers))
        assert row["n"] == len(answers)
        # The traffic's band lies inside 1..7, so the panel's clamping leaves it as it is.
        moe = t_margin(answers)
        assert row["CES mean"] - moe > 1 and row["CES mean"] + moe < 7
        assert row["upper"] - row["CES mean"] == pytest.approx(moe, rel=1e-3)
        assert row["CES mean"] - row["lower"] == pytest.approx(moe, rel=1e-3)

    async def test_ces_band_is_empty_for_a_single_answer(
        self, cx: Grafana, expected: Expected
    ) -> None:
        everything = await self._all(cx)
        [answer] = expected.ces["delivery"]
        [row] = await cx.panel("CES", **{**everything, "touchpoint": ["delivery"]})
        assert (row["CES mean"], row["n"]) == (answer, 1)
        assert (row["lower"], row["upper"]) == (None, None)

    async def test_negative_share_by_topic_covers_the_scored_items(self, cx: Grafana) -> None:
        rows = await cx.panel("Negative share by topic", **await self._all(cx))
        assert rows
        assert all(0 <= r["negative %"] <= 100 for r in rows)
        # The Russian complaint about a late delivery.
        assert any(r["topic"] == "delivery" and r["negative %"] > 0 for r in rows)

    @staticmethod
    async def _all(cx: Grafana) -> dict[str, grafana.Value]:
        return {n: await cx.variable(n) for n in ("touchpoint", "source_kind")}
