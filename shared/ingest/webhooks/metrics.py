"""Webhook metrics, voc_<service>_webhook_*; the vendor label only takes registered vendors."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from shared.telemetry import LATENCY_BUCKETS

# Outcomes of voc_<service>_webhook_events_total, per item of a delivery (or of a fetch).
ACCEPTED, DELETED, IGNORED, FETCH_QUEUED, FETCH_FAILED = (
    "accepted",
    "deleted",
    "ignored",
    "fetch_queued",
    "fetch_failed",
)


class WebhookMetrics:
    def __init__(self, service: str, registry: CollectorRegistry) -> None:
        p = f"voc_{service}_webhook"
        self.events = Counter(
            f"{p}_events_total",
            "Webhook items by vendor and outcome (accepted, deleted, ignored, fetch_queued, "
            "fetch_failed).",
            ["vendor", "outcome"],
            registry=registry,
        )
        self.auth_failures = Counter(
            f"{p}_auth_failures_total",
            "Deliveries refused with 401, by vendor and reason.",
            ["vendor", "reason"],
            registry=registry,
        )
        self.rejected = Counter(
            f"{p}_rejected_total",
            "Authenticated or not, deliveries refused for other reasons (too_large, "
            "unsupported_media_type, validation, rate_limited, broker_unavailable).",
            ["vendor", "reason"],
            registry=registry,
        )
        self.fetches = Counter(
            f"{p}_fetch_requests_total",
            "Vendor API calls of fetch-step vendors, by outcome (ok, retried, failed).",
            ["vendor", "outcome"],
            registry=registry,
        )
        self.fetch_seconds = Histogram(
            f"{p}_fetch_seconds",
            "Time to fetch one envelope's details, retries included.",
            ["vendor"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
