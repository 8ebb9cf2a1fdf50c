"""Logging and Prometheus helpers shared by every service.

Each service owns one CollectorRegistry (not the process default), so several services or test
instances can live in one process without clashing metric names.
"""

from __future__ import annotations

import logging
import sys

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)


def configure_logging(service: str, *, env: str = "dev", level: str = "INFO") -> None:
    """structlog to stdout: console renderer in dev, JSON lines elsewhere."""
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper(), force=True)
    renderer = (
        structlog.dev.ConsoleRenderer(colors=False)
        if env == "dev"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)


class ConsumerMetrics:
    """The metrics every consumer service exports, named voc_<service>_<subject>_<unit>."""

    def __init__(self, service: str, registry: CollectorRegistry) -> None:
        p = f"voc_{service}"
        self.consumed = Counter(
            f"{p}_events_consumed_total",
            "Records fetched from Kafka.",
            ["topic"],
            registry=registry,
        )
        self.processed = Counter(
            f"{p}_events_processed_total",
            "Records whose side effect completed.",
            ["topic", "outcome"],
            registry=registry,
        )
        self.batch_size = Histogram(
            f"{p}_batch_size_records",
            "Records per processed batch.",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.batch_seconds = Histogram(
            f"{p}_batch_processing_seconds",
            "Time to process one batch, side effect included.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.lag = Gauge(
            f"{p}_consumer_lag_records",
            "Highwater minus position per partition.",
            ["topic", "partition"],
            registry=registry,
        )
        self.dlq = Counter(
            f"{p}_dlq_total",
            "Records sent to the dead-letter topic.",
            ["topic", "reason"],
            registry=registry,
        )
        self.errors = Counter(
            f"{p}_handler_errors_total",
            "Transient batch failures that were retried.",
            ["error"],
            registry=registry,
        )
        self.commits = Counter(
            f"{p}_offset_commits_total",
            "Offset commits.",
            ["outcome"],
            registry=registry,
        )
