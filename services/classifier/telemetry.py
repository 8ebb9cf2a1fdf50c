"""The classifier's Prometheus metrics, on top of the runner's voc_classifier_* consumer metrics."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.events import Enrichment
from shared.telemetry import BATCH_BUCKETS, ConsumerMetrics

SERVICE = "classifier"
# Inference on CPU runs from milliseconds (a few short texts) to minutes (a full batch of long
# ones on two cores).
INFERENCE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class ClassifierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        p = f"voc_{SERVICE}"
        self.consumer = ConsumerMetrics(SERVICE, registry)
        self.texts_classified = Counter(
            f"{p}_texts_classified_total",
            "Texts run through the NLP pipeline, by detected language ('unknown' if none).",
            ["language"],
            registry=registry,
        )
        self.unscored = Counter(
            f"{p}_unscored_total",
            "Items published without a sentiment score, by reason.",
            ["reason"],
            registry=registry,
        )
        self.inference_seconds = Histogram(
            f"{p}_inference_seconds",
            "Wall time of one batched NLP pipeline call.",
            buckets=INFERENCE_BUCKETS,
            registry=registry,
        )
        self.inference_batch = Histogram(
            f"{p}_inference_batch_texts",
            "Texts per NLP pipeline call.",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.touchpoints = Counter(
            f"{p}_touchpoints_resolved_total",
            "Items per touchpoint and what decided it: explicit, rule, topic or default.",
            ["touchpoint", "decided_by"],
            registry=registry,
        )
        self.model_info = Gauge(
            f"{p}_model_info",
            "Always 1; the label names the loaded model version.",
            ["model_version"],
            registry=registry,
        )

    def observe_inference(self, languages: Sequence[str | None], seconds: float) -> None:
        """One pipeline call: how long it took and the detected language of each text."""
        self.inference_batch.observe(len(languages))
        self.inference_seconds.observe(seconds)
        for language in languages:
            self.texts_classified.labels(language or "unknown").inc()

    def observe_enriched(self, enrichment: Enrichment) -> None:
        """One published item: why it is unscored, and how its touchpoint was decided."""
        if enrichment.unscored:
            self.unscored.labels(enrichment.unscored_reason or "unknown").inc()
        decided_by = enrichment.touchpoint_rule.split(":", 1)[0]
        self.touchpoints.labels(enrichment.touchpoint, decided_by).inc()
