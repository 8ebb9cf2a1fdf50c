"""Every query we ship, run against the real thing.

The stack runs as `make run` starts it, a real Prometheus scrapes it and evaluates our rules,
`traffic.drive` has gone through all four ingestion services, and `alert_traffic` has made a
score drop whose team webhook is refused. Then every PromQL expression of every dashboard panel
and every rule must parse and, where the traffic went, return data; every SQL query of the
scores dashboard runs on the stack's PostgreSQL with Grafana's variables and macros expanded,
and returns the rows the traffic produced.
"""

from __future__ import annotations

import asyncio
import math
import statistics
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from tests.helpers import eventually
from tests.integration.ops.alert_traffic import (
    MAX_ATTEMPTS,
    METRIC,
    TEAM,
    TOUCHPOINT,
    drive_alert,
    expected_figures,
)
from tests.integration.ops.processes import RunningPrometheus
from tests.integration.ops.queries import CxSql, prom_checks, query, shipped_rules, t_margin
from tests.integration.ops.traffic import Expected, drive
from tests.stack import RunningStack, create_api_key


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
async def expected(
    stack: RunningStack, prometheus: RunningPrometheus, client: httpx.AsyncClient
) -> Expected:
    expected = await drive(stack, client)
    await drive_alert(stack, client)
    return expected


class TestPromqlOfDashboardsAndRules:
    async def test_every_expression_parses_and_returns_data_where_traffic_went(
        self, prometheus: RunningPrometheus, client: httpx.AsyncClient, expected: Expected
    ) -> None:
        checks = prom_checks()
        assert len(checks) > 50
        # Parsing does not depend on data: every expression first, once.
        errors = []
        for what, expr, _ in checks:
            body = await query(client, prometheus, expr)
            if body["status"] != "success":
                errors.append(f"{what}: {body.get('error')}\n  {expr}")
        assert errors == []

        async def mismatches() -> list[str]:
            out = []
            for what, expr, want_data in checks:
                got_data = bool((await query(client, prometheus, expr))["data"]["result"])
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
        shipped = {r.get("alert") or r["record"] for r in shipped_rules()}
        assert {r["name"] for r in loaded} == shipped
        assert [(r["name"], r.get("lastError")) for r in loaded if r["health"] != "ok"] == []

        async def firing() -> set[tuple[str, str]]:
            resp = await client.get(f"{prometheus.url}/api/v1/alerts")
            return {
                (a["labels"]["alertname"], a["labels"].get("job", ""))
                for a in resp.json()["data"]["alerts"]
                if a["state"] == "firing"
            }

        must = {
            ("VocDeadLetterTraffic", "classifier"),
            ("VocDeadLetterTraffic", "metrics"),
            ("VocScoreDrop", ""),
            ("VocAlertWebhookFailing", ""),
        }
        alerts = await eventually(firing, lambda a: must <= a, timeout_s=60)
        assert alerts == must

    async def test_the_score_drop_alert_is_the_one_the_api_lists(
        self, prometheus: RunningPrometheus, client: httpx.AsyncClient, expected: Expected
    ) -> None:
        async def score_drops() -> list[dict[str, str]]:
            resp = await client.get(f"{prometheus.url}/api/v1/alerts")
            alerts = resp.json()["data"]["alerts"]
            return [a["labels"] for a in alerts if a["labels"]["alertname"] == "VocScoreDrop"]

        [labels] = await eventually(score_drops, bool, timeout_s=60)
        # The team label stays, so Alertmanager can route by it; no replica label is left.
        assert labels == {"alertname": "VocScoreDrop", "severity": "warning",
                          "touchpoint": TOUCHPOINT, "metric": METRIC, "team": TEAM}  # fmt: skip

    async def test_the_api_shows_the_alert_with_its_failed_notification(
        self, stack: RunningStack, client: httpx.AsyncClient, expected: Expected
    ) -> None:
        auth = {"Authorization": f"Bearer {await asyncio.to_thread(create_api_key, stack)}"}

        async def open_alerts() -> list[dict[str, Any]]:
            resp = await client.get(stack.url("api") + "/v1/alerts", headers=auth)
            assert resp.status_code == 200, resp.text
            return resp.json()["items"]  # type: ignore[no-any-return]

        def settled(items: list[dict[str, Any]]) -> bool:
            return bool(items) and items[0]["notification_status"] == "failed"

        [alert] = await eventually(open_alerts, settled, timeout_s=60)
        assert (alert["touchpoint"], alert["metric"], alert["team"]) == (TOUCHPOINT, METRIC, TEAM)
        figures = expected_figures()
        assert alert["window"]["value"] == pytest.approx(figures["window_value"])
        assert alert["window"]["n"] == figures["window_n"]
        assert alert["baseline"]["value"] == pytest.approx(figures["baseline_value"])
        assert alert["baseline"]["n"] == figures["baseline_n"]
        [note] = alert["notifications"]
        assert (note["event"], note["attempts"]) == ("opened", MAX_ATTEMPTS)

    async def test_end_to_end_latency_is_observed_once_per_fact_written(
        self, prometheus: RunningPrometheus, client: httpx.AsyncClient, expected: Expected
    ) -> None:
        async def counts() -> tuple[float, float, set[str]]:
            # Both at one evaluation time, so both see the same scrape.
            at = datetime.now(UTC).timestamp() - 1
            by_kind = "sum by (source_kind) (voc_metrics_end_to_end_seconds_count)"
            observed = await query(client, prometheus, by_kind, at)
            written = await query(client, prometheus, "sum(voc_metrics_facts_written_total)", at)
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


@pytest.fixture(scope="module")
async def database(stack: RunningStack, expected: Expected) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(stack.database_url)
    yield conn
    await conn.close()


@pytest.fixture(scope="module")
async def cx(database: asyncpg.Connection) -> CxSql:
    return CxSql(database)


class TestScoresDashboardSql:
    async def test_variables_list_what_the_traffic_touched(
        self, cx: CxSql, expected: Expected
    ) -> None:
        assert set(await cx.variable("source_kind")) == set(expected.by_kind)
        touchpoints = set(await cx.variable("touchpoint"))
        assert {"checkout", "customer_support", "product"} <= touchpoints

    async def test_every_query_runs_and_returns_rows(self, cx: CxSql, expected: Expected) -> None:
        everything = await cx.everything()
        for q in cx.queries.values():
            if q.repeat == "touchpoint":
                for tp in everything["touchpoint"]:
                    rows = await cx.run(
                        q.text, touchpoint=[tp], source_kind=everything["source_kind"]
                    )
                    assert bool(rows) == (tp in expected.scored[q.panel]), (q.panel, tp, rows)
            else:
                assert await cx.run(q.text, **everything), q.panel

    async def test_headline_matches_the_traffic(self, cx: CxSql, expected: Expected) -> None:
        [row] = await cx.panel("Selected range", **await cx.everything())
        assert row["items"] == expected.items
        assert row["NPS"] == pytest.approx(expected.nps)
        assert row["CSAT %"] == pytest.approx(expected.csat_overall)
        assert row["CES"] == pytest.approx(expected.ces_overall)
        assert row["stars"] == pytest.approx(3.0)

    async def test_volume_by_source_kind_counts_every_item(
        self, cx: CxSql, expected: Expected
    ) -> None:
        rows = await cx.panel("Volume by source kind", **await cx.everything())
        by_kind: dict[str, int] = {}
        for row in rows:
            by_kind[row["metric"]] = by_kind.get(row["metric"], 0) + row["items"]
        assert by_kind == expected.by_kind

    async def test_journey_stages_sum_their_touchpoints(
        self, cx: CxSql, expected: Expected
    ) -> None:
        rows = await cx.panel("Journey-stage summary", **await cx.everything())
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
        self, cx: CxSql, expected: Expected
    ) -> None:
        everything = await cx.everything()
        [row] = await cx.panel("NPS", **{**everything, "touchpoint": ["checkout"]})
        assert row["NPS"] == pytest.approx(expected.nps)
        assert row["n"] == expected.nps_n  # the employee's answer is not in it
        assert row["lower"] < row["NPS"] < row["upper"]
        p, d = expected.nps_shares
        moe = 196 * math.sqrt((p + d - (p - d) ** 2) / expected.nps_n)
        assert row["upper"] - row["NPS"] == pytest.approx(moe)

    async def test_csat_per_touchpoint(self, cx: CxSql, expected: Expected) -> None:
        everything = await cx.everything()
        for tp, (value, n) in expected.csat.items():
            [row] = await cx.panel("CSAT", **{**everything, "touchpoint": [tp]})
            assert (row["CSAT %"], row["n"]) == (pytest.approx(value), n)

    async def test_ces_per_touchpoint_has_its_t_interval_band_and_n(
        self, cx: CxSql, expected: Expected
    ) -> None:
        everything = await cx.everything()
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
        self, cx: CxSql, expected: Expected
    ) -> None:
        everything = await cx.everything()
        [answer] = expected.ces["delivery"]
        [row] = await cx.panel("CES", **{**everything, "touchpoint": ["delivery"]})
        assert (row["CES mean"], row["n"]) == (answer, 1)
        assert (row["lower"], row["upper"]) == (None, None)

    async def test_negative_share_by_topic_counts_each_topic_of_a_fact(
        self, cx: CxSql, database: asyncpg.Connection
    ) -> None:
        everything = await cx.everything()
        # By prefix: the title may say more ("... (all topics)").
        [title] = [t for t in cx.queries if t.startswith("Negative share by topic")]
        rows = await cx.panel(title, **everything)
        touchpoints = list(everything["touchpoint"])
        want = await cx.negative_by_topic(touchpoints)
        got = {r["topic"]: (r["n"], r["negative %"]) for r in rows}
        assert got == {t: (n, pytest.approx(pct)) for t, (n, pct) in want.items()}
        # The Russian complaint about a late delivery.
        assert got["delivery"][1] > 0
        # Worst first, as the panel says.
        assert [r["negative %"] for r in rows] == sorted(
            (r["negative %"] for r in rows), reverse=True
        )
        # Every topic of an item, not just its primary: traffic.py's 1-star review names two,
        # so the topics' n add up to more than the scored customer items in range with a topic.
        in_range = (
            "FROM feedback_facts WHERE bucket_start BETWEEN $1 AND $2 AND NOT deleted"
            " AND NOT unscored AND sentiment_score IS NOT NULL AND audience <> 'employee'"
        )
        several = await database.fetchval(
            f"SELECT count(*) {in_range} AND jsonb_array_length(topics) > 1", cx.since, cx.to
        )
        with_topic = await database.fetchval(
            f"SELECT count(*) {in_range} AND topics <> '[]'::jsonb", cx.since, cx.to
        )
        assert several > 0
        assert sum(n for n, _ in got.values()) >= with_topic + several
