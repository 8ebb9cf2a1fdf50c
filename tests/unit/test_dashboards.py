"""The committed dashboards are what the code generates, and refer only to things that exist.

tests/integration/ops runs every query against live services; these checks need no I/O and
name the mistake (drift, an unknown metric, an unprovisioned datasource) directly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from deploy.grafana.dashgen import OUTPUT_DIR, render_all, service_detail
from deploy.grafana.dashgen.inventory import custom_values, queries
from deploy.grafana.dashgen.kit import CONSUMER_SERVICES
from services.classifier.telemetry import ClassifierMetrics
from services.metrics.telemetry import MetricsTelemetry
from shared.http import HttpMetrics
from shared.ingest.metrics import IngestMetrics
from shared.ingest.webhooks.metrics import WebhookMetrics
from shared.tables import metadata

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
INGEST = ("surveys", "tickets", "reviews", "social")
NAME = re.compile(r"(?<![\w:])voc_[a-z0-9_]+(?![\w:])")
NAME_PATTERN = re.compile(r'__name__=~"([^"]*)"')
ALTERNATION = re.compile(r"voc_\(([a-z|]+)\)_([a-z0-9_]+)")


def exported_names() -> set[str]:
    """Every sample name the services' telemetry classes can export."""
    registry = CollectorRegistry()
    for service in INGEST:
        HttpMetrics(service, registry)
        IngestMetrics(service, registry)
        WebhookMetrics(service, registry)
    HttpMetrics("api", registry)
    HttpMetrics("classifier", registry)
    ClassifierMetrics(registry)
    MetricsTelemetry(registry)
    names = {"up"}
    for family in registry.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names |= {f"{family.name}{suffix}" for suffix in ("_bucket", "_count", "_sum")}
        else:
            names.add(family.name)
    return names


def named_metrics(expr: str) -> set[str]:
    """Metric names an expression selects, with voc_(a|b)_x patterns expanded."""
    names = set(NAME.findall(NAME_PATTERN.sub("", expr)))
    for pattern in NAME_PATTERN.findall(expr):
        m = ALTERNATION.fullmatch(pattern)
        assert m, f"name pattern {pattern!r}: write voc_(a|b)_subject so it can be checked"
        names |= {f"voc_{svc}_{m.group(2)}" for svc in m.group(1).split("|")}
    return names


def boards() -> dict[str, dict[str, Any]]:
    return {name: json.loads(text) for name, text in render_all().items()}


def promql() -> list[tuple[str, str]]:
    """(where, expr) for every dashboard target, the service variable expanded, and every rule."""
    out = []
    for board in boards().values():
        services = custom_values(board, "service") if board["uid"] == "voc-service" else [""]
        for q in queries(board):
            if q.datasource != "prometheus":
                continue
            for s in services:
                if q.row == service_detail.CONSUMER_ROW and s not in CONSUMER_SERVICES:
                    continue  # that row is for the consumers; it stays empty for the others
                out.append((f"{q.key} {s}", q.text.replace("${service}", s)))
    for path in sorted((ROOT / "deploy/prometheus/rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            out += [(str(r.get("alert") or r["record"]), r["expr"]) for r in group["rules"]]
    return out


class TestDashboardsAsCode:
    @pytest.mark.parametrize("name", sorted(render_all()))
    def test_committed_json_matches_the_generator(self, name: str) -> None:
        committed = OUTPUT_DIR / name
        assert committed.is_file(), f"{committed} missing: run python -m deploy.grafana.dashgen"
        assert committed.read_text() == render_all()[name], (
            f"{committed} drifted from deploy/grafana/dashgen: run python -m deploy.grafana.dashgen"
        )

    def test_no_json_is_left_that_the_code_no_longer_generates(self) -> None:
        assert {p.name for p in OUTPUT_DIR.glob("*.json")} == set(render_all())

    def test_every_query_uses_a_provisioned_datasource(self) -> None:
        path = GRAFANA / "provisioning/datasources/datasources.yaml"
        sources = yaml.safe_load(path.read_text())["datasources"]
        provisioned = {(d["type"], d["uid"]) for d in sources}
        for board in boards().values():
            variables = board.get("templating", {}).get("list", [])
            refs = [v["datasource"] for v in variables if "datasource" in v]
            for panel in board["panels"]:
                refs += [panel["datasource"]] if "datasource" in panel else []
                refs += [t["datasource"] for t in panel.get("targets", []) if "datasource" in t]
            assert refs
            assert {(r["type"], r["uid"]) for r in refs} <= provisioned, board["uid"]

    def test_panels_have_unique_ids_titles_and_ref_ids(self) -> None:
        uids = [b["uid"] for b in boards().values()]
        assert len(uids) == len(set(uids))
        for board in boards().values():
            ids = [p["id"] for p in board["panels"]]
            assert len(ids) == len(set(ids)) and 0 not in ids, board["uid"]
            for panel in board["panels"]:
                refs = [t["refId"] for t in panel.get("targets", [])]
                assert len(refs) == len(set(refs)) and "" not in refs, panel["title"]
                if panel["type"] != "row":
                    assert panel["title"] and panel["description"], panel

    def test_every_metric_named_is_one_a_service_exports(self) -> None:
        known = exported_names()
        exprs = promql()
        assert len(exprs) > 50
        for where, expr in exprs:
            unknown = named_metrics(expr) - known
            assert not unknown, f"{where}: no service exports {sorted(unknown)}"

    def test_the_open_alerts_gauge_is_merged_across_replicas_with_max(self) -> None:
        # Every metrics replica exports the same open alerts: a sum would count each per replica.
        uses = [(where, expr) for where, expr in promql() if "voc_alerts_open" in expr]
        places = " ".join(where for where, _ in uses)
        assert "VocScoreDrop" in places and "Open score-drop alerts" in places, places
        for where, expr in uses:
            assert expr.startswith("max by (touchpoint, metric, team) (voc_alerts_open)"), where

    def test_scores_sql_reads_only_storage_tables(self) -> None:
        board = boards()["voc-cx-scores.json"]
        tables = set(metadata.tables)
        for q in queries(board):
            assert q.datasource == "postgres"
            read = set(re.findall(r"\bFROM\s+([a-z_]+)", q.text))
            assert read and read <= tables | {"b", "m", "s", "r"}, (q.key, read)

    def test_grafana_loads_the_folder_compose_mounts(self) -> None:
        provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/voc.yaml").read_text())
        [source] = provider["providers"]
        compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
        mounts = compose["services"]["grafana"]["volumes"]
        assert f"./deploy/grafana/dashboards:{source['options']['path']}:ro" in mounts
