"""The pipeline overview's score-writer rows: the metrics writer, and its score-drop alerts.

The alerts row reads the metrics service's alert series (services/metrics/telemetry.py). Every
replica exports the same open-alerts gauge, so it is merged with max; the counters are what
each replica did, so they add up.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

from deploy.grafana.dashgen.kit import RATE, graph, prom, prom_table, quantiles

# The same expression as the VocScoreDrop alert: one row per alert however many replicas.
OPEN_ALERTS = "max by (touchpoint, metric, team) (voc_alerts_open)"


def writer(board: Dashboard) -> None:
    board.with_row(Row("Scores"))
    board.with_panel(
        graph(
            "Metrics writer rows",
            "Facts written per outcome, rollup rows adjusted, and versions that changed "
            "nothing (duplicates, older revisions).",
            [
                prom(
                    f"sum by (outcome) (rate(voc_metrics_facts_written_total[{RATE}]))",
                    "facts {{outcome}}",
                ),
                prom(f"sum(rate(voc_metrics_rollup_rows_touched_total[{RATE}]))", "rollup rows"),
                prom(
                    f"sum by (reason) (rate(voc_metrics_versions_skipped_total[{RATE}]))",
                    "skipped {{reason}}",
                ),
            ],
            unit="suffix: rows/s",
            width=8,
        )
    )
    board.with_panel(
        graph(
            "Transaction latency",
            "One batch's database transaction, commit included.",
            quantiles("voc_metrics_transaction_seconds_bucket", "", ""),
            unit="s",
            width=8,
        )
    )
    board.with_panel(
        graph(
            "End-to-end latency, receipt to score",
            "From an ingestion service accepting an item to its fact being committed, per "
            "source kind. Includes clock skew between hosts; replays show up as hours.",
            quantiles("voc_metrics_end_to_end_seconds_bucket", "source_kind", "{{source_kind}}"),
            unit="s",
            width=8,
        )
    )


def score_alerts(board: Dashboard) -> None:
    board.with_row(Row("Score-drop alerts"))
    board.with_panel(
        prom_table(
            "Open score-drop alerts",
            "Alerts open now, by touchpoint, metric and owning team: each one is a VocScoreDrop "
            "alert. Figures, p-value and windows: GET /v1/alerts.",
            OPEN_ALERTS,
            ("team", "touchpoint", "metric"),
        ).no_value("No open alerts")
    )
    board.with_panel(
        graph(
            "Alert notifications by outcome",
            "Webhook delivery attempts to the teams: sent (2xx), retried (network error, 5xx, "
            "429), failed (refused, or given up after max_attempts; VocAlertWebhookFailing).",
            [
                prom(
                    "sum by (event, outcome) "
                    f"(rate(voc_metrics_alert_notifications_total[{RATE}]))",
                    "{{event}} {{outcome}}",
                )
            ],
            unit="suffix: attempts/s",
        )
    )
    board.with_panel(
        graph(
            "Alert evaluations by outcome",
            "Evaluation rounds of all replicas: one evaluates per round, the others skip (the "
            "lock is held). No evaluated round for 20 minutes is VocAlertEvaluatorStalled.",
            [
                prom(
                    f"sum by (outcome) (rate(voc_metrics_alert_evaluations_total[{RATE}]))",
                    "{{outcome}}",
                )
            ],
            unit="suffix: runs/s",
        )
    )
    board.with_panel(
        graph(
            "Alerts opened and resolved",
            "Per metric, totals since each replica started: a counter is born at its first "
            "alert, which a rate would hide.",
            [
                prom("sum by (metric) (voc_metrics_alerts_opened_total)", "opened {{metric}}"),
                prom("sum by (metric) (voc_metrics_alerts_resolved_total)", "resolved {{metric}}"),
            ],
            unit="short",
        )
    )
