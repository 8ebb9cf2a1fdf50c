"""Every query we ship, what the traffic of `traffic.drive` should make it return, and how to
run it: PromQL against the test's Prometheus, SQL the way Grafana would run it.

The expectations (which expressions stay empty, and why) live beside the list of checks they
qualify; the tests in test_dashboards_live.py only assert.
"""

from __future__ import annotations

import json
import math
import statistics
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import yaml
from scipy import stats

from deploy.grafana.dashgen import service_detail
from deploy.grafana.dashgen.inventory import custom_values, queries
from tests.integration.ops import grafana
from tests.integration.ops.processes import REPO, RULE_FILES, RunningPrometheus

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
    ("voc-pipeline", "Alerts opened and resolved", "B"):
        "the score drop of alert_traffic stays open while the test runs",
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
    "VocAlertEvaluatorStalled": "the evaluator runs every 2 s (alert_traffic.alert_env)",
}
# VocDeadLetterTraffic must fire: drive puts one undecodable record into each consumer's topic.
# VocScoreDrop and VocAlertWebhookFailing must fire: alert_traffic opens an alert whose team's
# webhook is refused.
# Alerts whose threshold the traffic stays under: the expression without it must have data, so
# its selector and labels are proven on the real series.
THRESHOLDS = {"VocWebhookSignatureFailureBurst": " > 10"}
# Parts of an expected-empty alert's expression (verbatim) and a condition each must meet on the
# live series: the alert is quiet for the reason given above, not because a selector is wrong.
PARTS = {
    "VocAlertEvaluatorStalled": (
        ('sum(increase(voc_metrics_alert_evaluations_total{outcome="evaluated"}[10m]))', " > 0"),
        ("sum(voc_metrics_alert_evaluations_total)", " > 0"),
        ('max(up{job="metrics"}) == 1', ""),
    ),
}
# The dashboard variables every SQL panel filters on.
CX_VARIABLES = ("touchpoint", "source_kind")


def t_margin(answers: list[int]) -> float:
    """The 95% t margin of the mean, computed here from the answers themselves."""
    n = len(answers)
    return float(stats.t.ppf(0.975, n - 1)) * statistics.stdev(answers) / math.sqrt(n)


def shipped_rules() -> list[dict[str, Any]]:
    """Every alerting and recording rule of the committed rule files."""
    return [
        rule
        for p in RULE_FILES
        for g in yaml.safe_load(p.read_text())["groups"]
        for rule in g["rules"]
    ]


def prom_checks() -> list[tuple[str, str, bool]]:
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
    for rule in shipped_rules():
        name = rule.get("alert") or rule["record"]
        checks.append((f"rule {name}", rule["expr"], name not in EXPECTED_EMPTY_ALERTS))
        if name in THRESHOLDS:
            assert rule["expr"].endswith(THRESHOLDS[name]), (name, rule["expr"])
            below = rule["expr"].removesuffix(THRESHOLDS[name])
            checks.append((f"rule {name} without its threshold", below, True))
        for part, condition in PARTS.get(name, ()):
            assert part in rule["expr"], (name, part, rule["expr"])
            checks.append((f"rule {name}: {part}{condition}", part + condition, True))
    return checks


async def query(
    client: httpx.AsyncClient, prom: RunningPrometheus, expr: str, at: float | None = None
) -> dict[str, Any]:
    """Prometheus's answer to an instant query, at `at` (Unix seconds) or now."""
    params = {"query": expr} if at is None else {"query": expr, "time": str(at)}
    resp = await client.get(f"{prom.url}/api/v1/query", params=params)
    body: dict[str, Any] = resp.json()
    return body


class CxSql:
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

    async def everything(self) -> dict[str, grafana.Value]:
        """Every dashboard variable set to all its values, as 'All' would."""
        return {n: await self.variable(n) for n in CX_VARIABLES}

    async def panel(self, title: str, **variables: grafana.Value) -> list[dict[str, Any]]:
        return await self.run(self.queries[title].text, **variables)

    async def negative_by_topic(self, touchpoints: list[str]) -> dict[str, tuple[int, float]]:
        """topic -> (n, negative %) counted here from the facts themselves: every topic of a
        live, scored, customer fact in range counts it once; no topic, no row."""
        facts = await self.conn.fetch(
            "SELECT touchpoint, audience, topics::text, sentiment_label, sentiment_score,"
            " unscored, deleted, bucket_start FROM feedback_facts"
        )
        n: dict[str, int] = {}
        negative: dict[str, int] = {}
        for f in facts:
            if (
                f["deleted"]
                or f["unscored"]
                or f["sentiment_score"] is None
                or f["audience"] == "employee"
                or f["touchpoint"] not in touchpoints
                or not self.since <= f["bucket_start"] <= self.to
            ):
                continue
            for topic in {t["label"] for t in json.loads(f["topics"])}:
                n[topic] = n.get(topic, 0) + 1
                negative[topic] = negative.get(topic, 0) + (f["sentiment_label"] == "negative")
        return {t: (n[t], 100 * negative[t] / n[t]) for t in n}
