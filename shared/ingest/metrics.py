"""Ingestion metrics, named voc_<service>_<subject>_<unit> in the app's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from shared.telemetry import LATENCY_BUCKETS

OTHER_SOURCE = "other"


class IngestMetrics:
    """Accepted items by source, rejected requests by reason, and broker ack latency."""

    def __init__(self, service: str, registry: CollectorRegistry, max_sources: int = 100) -> None:
        p = f"voc_{service}"
        self.accepted = Counter(
            f"{p}_events_accepted_total",
            "Items acknowledged by the broker, by source system.",
            ["source"],
            registry=registry,
        )
        self.rejected = Counter(
            f"{p}_requests_rejected_total",
            "Requests answered with an error, by reason.",
            ["reason"],
            registry=registry,
        )
        self.broker_ack = Histogram(
            f"{p}_broker_ack_seconds",
            "Time from publishing a request's items to the last ack.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._max_sources = max_sources
        self._sources: set[str] = set()

    def source_label(self, source: str) -> str:
        """`source` comes from the caller: cap the distinct label values so a sender cannot
        blow up the series count."""
        if source in self._sources:
            return source
        if len(self._sources) < self._max_sources:
            self._sources.add(source)
            return source
        return OTHER_SOURCE
