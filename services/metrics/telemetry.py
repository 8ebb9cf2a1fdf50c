"""Prometheus metrics of the metrics writer (voc_metrics_*), on the service's own registry."""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Histogram

from shared.http import HttpMetrics
from shared.telemetry import LATENCY_BUCKETS, ConsumerMetrics

SERVICE = "metrics"


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
        self.transaction_seconds = Histogram(
            "voc_metrics_transaction_seconds",
            "Duration of one batch's database transaction, commit included.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def batch_written(
        self, written: Tally[str], skipped: Tally[str], rollup_rows: int, seconds: float
    ) -> None:
        for outcome, count in written.items():
            self.facts_written.labels(outcome).inc(count)
        for reason, count in skipped.items():
            self.versions_skipped.labels(reason).inc(count)
        self.rollup_rows.inc(rollup_rows)
        self.transaction_seconds.observe(seconds)
