"""A score drop the metrics service must alert on, owned by a team whose webhook is down.

`alert_env` makes the evaluator run every 2 s with a minimum n this traffic reaches, and gives
the website's team a webhook on a port nobody listens on, tried twice: the opened notification
is retried once, then fails for good. `drive_alert` posts NPS answers at the website: good ones
in the baseline (30 h ago), poor ones in the 24 h window (12 h ago). Both lie outside the six
hours the scores dashboard test reads, so the figures `traffic.drive` expects do not move.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx

from tests.integration.ops.traffic import nps
from tests.stack import RunningStack

TOUCHPOINT, METRIC, TEAM = "website", "nps", "digital"  # team: shared/journey.yaml
BASELINE_NPS = [10, 10, 9, 9, 9, 10, 8, 7, 10, 9, 6, 10]
WINDOW_NPS = [2, 5, 9, 3, 0, 6, 7, 4, 10, 1, 6, 3]
MIN_N = 10
MAX_ATTEMPTS = 2


def alert_env(refusing_port: int) -> dict[str, str]:
    """What an operator sets (services/metrics/settings.py), tuned so a test waits seconds."""
    hook = {"url": f"http://127.0.0.1:{refusing_port}/hook", "secret": "ops-test-secret-0123"}
    return {
        "METRICS_ALERTS__INTERVAL_S": "2",
        "METRICS_ALERTS__MIN_N": str(MIN_N),
        "METRICS_ALERTS__WEBHOOKS": json.dumps({TEAM: hook}),
        "METRICS_ALERTS__MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "METRICS_ALERTS__BACKOFF_BASE_S": "1",
        "METRICS_ALERTS__NOTIFY_POLL_S": "1",
    }


def _answers(prefix: str, scores: list[int], at: datetime) -> list[dict[str, object]]:
    return [
        {"source": "ops-alerts", "source_id": f"{prefix}-{i}", "occurred_at": at.isoformat(),
         "touchpoint": TOUCHPOINT, "nps": score}
        for i, score in enumerate(scores)
    ]  # fmt: skip


async def drive_alert(stack: RunningStack, client: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    answers = _answers("baseline", BASELINE_NPS, now - timedelta(hours=30))
    answers += _answers("window", WINDOW_NPS, now - timedelta(hours=12))
    resp = await client.post(stack.url("surveys") + "/v1/responses", json=answers)
    assert resp.status_code == 202, resp.text


def expected_figures() -> dict[str, float]:
    """The open alert's figures, computed here from the answers."""
    return {
        "window_value": nps(WINDOW_NPS),
        "window_n": len(WINDOW_NPS),
        "baseline_value": nps(BASELINE_NPS),
        "baseline_n": len(BASELINE_NPS),
    }
