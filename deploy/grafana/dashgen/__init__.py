"""Grafana dashboards as code (grafana-foundation-sdk) -> deploy/grafana/dashboards/*.json.

`python -m deploy.grafana.dashgen` rewrites the JSON; `--check` only reports drift. Grafana
loads the JSON through deploy/grafana/provisioning/dashboards/voc.yaml.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.builders.dashboard import Dashboard

from deploy.grafana.dashgen import pipeline, scores, service_detail
from deploy.grafana.dashgen.kit import render

OUTPUT_DIR = Path(__file__).resolve().parents[1] / "dashboards"
BOARDS: dict[str, Callable[[], Dashboard]] = {
    f"{pipeline.UID}.json": pipeline.build,
    f"{service_detail.UID}.json": service_detail.build,
    f"{scores.UID}.json": scores.build,
}


def render_all() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {name: render(build()) for name, build in BOARDS.items()}
