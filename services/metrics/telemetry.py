"""Prometheus metrics of the metrics writer (voc_metrics_*), on the service's own registry."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.http import HttpMetrics
from shared.telemetry import LATENCY_BUCKETS, ConsumerMetrics

SERVICE = "metrics"
# Receipt to score: well under a second when the pipeline keeps up, minutes behind a backlog,
# hours when a consumer was down or a topic is replayed.
END_TO_END_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 14400)


class MetricsTelemetry:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.consumer = ConsumerMetrics(SERVICE, registry)
        self.http = HttpMetrics(SERVICE, registry)
        self.facts_written = Counter(
            "voc_metrics_facts_written_total",
            "Feedback facts inserted, updated to a newer revision, or turned into a tombstone.",
            ["outcome"],
            registry=registry,
        )
        self.versions_skipped = Counter(
            "voc_metrics_versions_skipped_total",
            "Versions that changed nothing: a duplicate event or an older revision.",
            ["reason"],
            registry=registry,
        )
        self.rollup_rows = Counter(
            "voc_metrics_rollup_rows_touched_total",
            "Rollup rows inserted or adjusted.",
            registry=registry,
        )
        self.slice_rows = Counter(
            "voc_metrics_slice_rows_touched_total",
            "Slice rows (score_slices, every slice and grain) inserted or adjusted.",
            registry=registry,
        )
        self.transaction_seconds = Histogram(
            "voc_metrics_transaction_seconds",
            "Duration of one batch's database transaction, commit included.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.end_to_end = Histogram(
            "voc_metrics_end_to_end_seconds",
            "From an item's receipt by an ingestion service to its fact being committed.",
            ["source_kind"],
            buckets=END_TO_END_BUCKETS,
            registry=registry,
        )
        self.alerts = AlertMetrics(registry)

    def batch_written(
        self,
        written: Tally[str],
        skipped: Tally[str],
        rollup_rows: int,
        seconds: float,
        slice_rows: int = 0,
    ) -> None:
        for outcome, count in written.items():
            self.facts_written.labels(outcome).inc(count)
        for reason, count in skipped.items():
            self.versions_skipped.labels(reason).inc(count)
        self.rollup_rows.inc(rollup_rows)
        self.slice_rows.inc(slice_rows)
        self.transaction_seconds.observe(seconds)

    def facts_committed(self, facts: Iterable[Mapping[str, Any]], now: datetime) -> None:
        """End-to-end latency of each fact a committed transaction wrote.

        `received_at` was stamped by another process (another host in production), so the
        figure includes their clock skew; a replayed topic shows up as hours.
        """
        for fact in facts:
            seconds = (now - fact["received_at"]).total_seconds()
            self.end_to_end.labels(fact["source_kind"]).observe(max(0.0, seconds))


class AlertMetrics:
    """The open-alerts gauge (the same on every replica: each refreshes it from the table) and
    the counters of what this replica did."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.open = Gauge(
            "voc_alerts_open",
            "1 while a score-drop alert is open for the touchpoint and metric; gone once resolved.",
            ["touchpoint", "metric", "team"],
            registry=registry,
        )
        self.evaluations = Counter(
            "voc_metrics_alert_evaluations_total",
            "Alert evaluation runs: evaluated, skipped (another replica held the lock), failed.",
            ["outcome"],
            registry=registry,
        )
        self.opened = Counter(
            "voc_metrics_alerts_opened_total", "Alerts opened.", ["metric"], registry=registry
        )
        self.resolved = Counter(
            "voc_metrics_alerts_resolved_total", "Alerts resolved.", ["metric"], registry=registry
        )
        self.notifications = Counter(
            "voc_metrics_alert_notifications_total",
            "Webhook delivery attempts per owning team: sent (2xx), retried (network error, 5xx, "
            "429), failed (given up or refused).",
            # team is bounded: only teams with a configured webhook are ever sent to, and a
            # notification's team is a catalog team or "unowned".
            ["team", "event", "outcome"],
            registry=registry,
        )
        self._shown: set[tuple[str, str, str]] = set()

    def show_open(self, labels: Iterable[tuple[str, str, str]]) -> None:
        """Make the gauge exactly the given open alerts: 1 each, resolved ones removed."""
        current = set(labels)
        for gone in self._shown - current:
            self.open.remove(*gone)
        for label in current:
            self.open.labels(*label).set(1)
        self._shown = current
