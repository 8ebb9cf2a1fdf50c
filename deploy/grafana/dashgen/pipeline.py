"""Pipeline overview: ingestion, stream processing and the score writer on one page."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

from deploy.grafana.dashgen import pipeline_writer
from deploy.grafana.dashgen.kit import (
    ALL_JOBS,
    CONSUMERS,
    INGEST,
    RATE,
    by_name,
    dashboard,
    graph,
    prom,
    quantiles,
    up_stat,
)

UID = "voc-pipeline"
# /metrics scrapes and health probes are not traffic.
OPS_ROUTES = 'route!~"/healthz|/readyz|/metrics"'
INGEST_HTTP = by_name("http_requests_total", INGEST, OPS_ROUTES)
INGEST_5XX = by_name("http_requests_total", INGEST, f'{OPS_ROUTES}, status=~"5.."')
INGEST_ERRORS = by_name("http_requests_total", INGEST, f'{OPS_ROUTES}, status=~"4..|5.."')


def _ingestion(board: Dashboard) -> None:
    board.with_row(Row("Ingestion"))
    board.with_panel(
        graph(
            "Requests by service and status",
            "Every request to the ingestion endpoints, by HTTP status.",
            [prom(f"sum by (job, status) (rate({INGEST_HTTP}[{RATE}]))", "{{job}} {{status}}")],
            unit="reqps",
        )
    )
    board.with_panel(
        graph(
            "Accepted items by service and source",
            "Items the broker acknowledged (202), by source system (capped at 100 values).",
            [
                prom(
                    "sum by (job, source) "
                    f"(rate({by_name('events_accepted_total', INGEST)}[{RATE}]))",
                    "{{job}} {{source}}",
                )
            ],
            unit="suffix: items/s",
        )
    )
    board.with_panel(
        graph(
            "Webhook events by vendor and outcome",
            "Vendor webhooks received, by vendor and what became of them.",
            [
                prom(
                    "sum by (job, vendor, outcome) "
                    f"(rate({by_name('webhook_events_total', INGEST)}[{RATE}]))",
                    "{{job}} {{vendor}} {{outcome}}",
                )
            ],
            unit="suffix: events/s",
            width=8,
        )
    )
    board.with_panel(
        graph(
            "Signature failures by vendor and reason",
            "Webhooks refused because the signature was missing, wrong or stale: a rotated "
            "secret not updated here, a clock problem, or someone probing the endpoint.",
            [
                prom(
                    "sum by (job, vendor, reason) "
                    f"(rate({by_name('webhook_auth_failures_total', INGEST)}[{RATE}]))",
                    "{{job}} {{vendor}} {{reason}}",
                )
            ],
            unit="reqps",
            width=8,
        )
    )
    board.with_panel(
        graph(
            "Client and server errors",
            "4xx: the source sent something we refuse (see rejections by reason). "
            "5xx: our fault or the broker's; sources retry, so data is late, not lost.",
            [
                prom(
                    f"sum by (job, status) (rate({INGEST_ERRORS}[{RATE}]))",
                    "{{job}} {{status}}",
                )
            ],
            unit="reqps",
            width=8,
        )
    )
    board.with_panel(
        graph(
            "Server error ratio (5xx)",
            "Share of ingestion requests answered 5xx; the VocIngestErrorRatioHigh alert fires "
            "above 5% for 5 minutes.",
            [
                prom(
                    f"(sum by (job) (rate({INGEST_5XX}[{RATE}])) "
                    f"or sum by (job) (rate({INGEST_HTTP}[{RATE}])) * 0) "
                    f"/ sum by (job) (rate({INGEST_HTTP}[{RATE}]))",
                    "{{job}}",
                )
            ],
            unit="percentunit",
            width=8,
        )
    )
    board.with_panel(
        graph(
            "Rejected requests by reason",
            "validation, too_large, unsupported_media_type, broker_unavailable.",
            [
                prom(
                    "sum by (job, reason) "
                    f"(rate({by_name('requests_rejected_total', INGEST)}[{RATE}]))",
                    "{{job}} {{reason}}",
                )
            ],
            unit="reqps",
            width=8,
        )
    )
    board.with_panel(
        graph(
            "Broker acknowledgement latency",
            "From publishing a request's items to the broker's last ack (acks=all).",
            quantiles(by_name("broker_ack_seconds_bucket", INGEST), "job", "{{job}}"),
            unit="s",
            width=8,
        )
    )


def _stream(board: Dashboard) -> None:
    board.with_row(Row("Stream processing"))
    board.with_panel(
        graph(
            "Consumer lag by group and topic",
            "Records not yet processed (highwater minus position), per consumer group (the job) "
            "and topic. Growing for 15 minutes pages as VocConsumerLagGrowing.",
            [
                prom(
                    f"sum by (job, topic) ({by_name('consumer_lag_records', CONSUMERS)})",
                    "{{job}} ← {{topic}}",
                )
            ],
            unit="short",
        )
    )
    board.with_panel(
        graph(
            "Dead-lettered records",
            "Records sent to voc.dlq.v1 since each consumer started, by reason. A counter is "
            "born at its first record, so a rate would hide that one: these are the totals.",
            [
                prom(
                    f"sum by (job, topic, reason) ({by_name('dlq_total', CONSUMERS)})",
                    "{{job}} {{topic}} {{reason}}",
                )
            ],
            unit="short",
        )
    )
    board.with_panel(
        graph(
            "Classifier throughput",
            "Records finished per outcome, and texts run through the model per language.",
            [
                prom(
                    f"sum by (outcome) (rate(voc_classifier_events_processed_total[{RATE}]))",
                    "records {{outcome}}",
                ),
                prom(
                    f"sum by (language) (rate(voc_classifier_texts_classified_total[{RATE}]))",
                    "texts {{language}}",
                ),
            ],
            unit="suffix: /s",
            width=8,
        )
    )
    board.with_panel(
        graph(
            "Classifier batch size",
            "Records per consumed batch: near max_batch means the classifier runs behind.",
            quantiles("voc_classifier_batch_size_records_bucket", "", ""),
            unit="short",
            width=8,
        )
    )
    board.with_panel(
        graph(
            "Inference latency",
            "Wall time of one batched model call.",
            quantiles("voc_classifier_inference_seconds_bucket", "", ""),
            unit="s",
            width=8,
        )
    )
    board.with_panel(
        graph(
            "Unscored items by reason",
            "Items published without a sentiment: no_text and deleted are expected; "
            "unsupported_language:<code> and no_sentiment are not.",
            [
                prom(
                    f"sum by (reason) (rate(voc_classifier_unscored_total[{RATE}]))",
                    "{{reason}}",
                )
            ],
            unit="suffix: items/s",
        )
    )
    board.with_panel(
        graph(
            "Unscored share of classified texts",
            "Texts the model saw but could not score; VocClassifierUnscoredRateHigh fires above "
            "25% for 30 minutes.",
            [
                prom(
                    "(sum(rate(voc_classifier_unscored_total"
                    f'{{reason!~"no_text|deleted"}}[{RATE}])) or vector(0)) '
                    f"/ sum(rate(voc_classifier_texts_classified_total[{RATE}]))",
                    "unscored share",
                )
            ],
            unit="percentunit",
        )
    )


def build() -> Dashboard:
    board = dashboard(
        UID,
        "VoC / Pipeline overview",
        "Throughput, errors, lag and latency from the webhooks to the scores.",
    )
    board.with_panel(
        up_stat(
            "Targets up",
            "Scrape targets answering per service (replicas add up); red means none.",
            f'sum by (job) (up{{job=~"{ALL_JOBS}"}})',
            "{{job}}",
            width=24,
        )
    )
    _ingestion(board)
    _stream(board)
    pipeline_writer.writer(board)
    pipeline_writer.score_alerts(board)
    return board
