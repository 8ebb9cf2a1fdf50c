"""Service detail: rate, errors and duration of one service, picked by the `service` variable.

Metric names carry the service (voc_<service>_...), so the variable is spliced into the name.
Every service serves HTTP (the consumers on their side port); the consumer row applies to
classifier and metrics only and stays empty for the others.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import CustomVariable, Dashboard, Row
from grafana_foundation_sdk.models.dashboard import VariableOption

from deploy.grafana.dashgen.kit import RATE, SERVICES, dashboard, graph, prom, quantiles, up_stat

UID = "voc-service"
SVC = "voc_${service}"
CONSUMER_ROW = "Consumer: $service (classifier and metrics only)"


def _http(board: Dashboard) -> None:
    requests = f"{SVC}_http_requests_total"
    board.with_row(Row("HTTP: $service"))
    board.with_panel(
        up_stat(
            "Up",
            "1 per replica whose /metrics Prometheus could scrape.",
            'up{job="$service"}',
            "{{instance}}",
            width=24,
        )
    )
    board.with_panel(
        graph(
            "Requests by route",
            "Rate: requests per route template (scrapes and probes included).",
            [
                prom(
                    f"sum by (method, route) (rate({requests}[{RATE}]))",
                    "{{method}} {{route}}",
                )
            ],
            unit="reqps",
        )
    )
    board.with_panel(
        graph(
            "Errors by route and status",
            "Errors: 4xx (the caller's) and 5xx (ours) per route; 'unmatched' is an unknown path.",
            [
                prom(
                    f'sum by (route, status) (rate({requests}{{status=~"4..|5.."}}[{RATE}]))',
                    "{{route}} {{status}}",
                )
            ],
            unit="reqps",
        )
    )
    board.with_panel(
        graph(
            "Server error ratio (5xx)",
            "Share of all requests answered 5xx.",
            [
                prom(
                    f'(sum(rate({requests}{{status=~"5.."}}[{RATE}])) or vector(0)) '
                    f"/ sum(rate({requests}[{RATE}]))",
                    "5xx share",
                )
            ],
            unit="percentunit",
        )
    )
    board.with_panel(
        graph(
            "Latency by route",
            "Duration: p50, p90 and p99 per route template.",
            quantiles(
                f"{SVC}_http_request_duration_seconds_bucket",
                "route",
                "{{route}}",
                (0.5, 0.9, 0.99),
            ),
            unit="s",
        )
    )


def _consumer(board: Dashboard) -> None:
    board.with_row(Row(CONSUMER_ROW))
    board.with_panel(
        graph(
            "Records consumed and processed",
            "Rate: records fetched, and records whose side effect completed, by outcome.",
            [
                prom(
                    f"sum by (topic) (rate({SVC}_events_consumed_total[{RATE}]))",
                    "consumed {{topic}}",
                ),
                prom(
                    f"sum by (topic, outcome) (rate({SVC}_events_processed_total[{RATE}]))",
                    "{{outcome}} {{topic}}",
                ),
            ],
            unit="suffix: records/s",
        )
    )
    board.with_panel(
        graph(
            "Dead-lettered and retried",
            "Errors: records dead-lettered (totals since start, by reason) and transient batch "
            "failures that were retried (by error class).",
            [
                prom(f"sum by (topic, reason) ({SVC}_dlq_total)", "DLQ {{topic}} {{reason}}"),
                prom(f"sum by (error) ({SVC}_handler_errors_total)", "retried {{error}}"),
            ],
            unit="short",
        )
    )
    board.with_panel(
        graph(
            "Batch processing time",
            "Duration: one consumed batch, side effect included.",
            quantiles(f"{SVC}_batch_processing_seconds_bucket", "", "", (0.5, 0.9, 0.99)),
            unit="s",
            width=8,
        )
    )
    board.with_panel(
        graph(
            "Batch size",
            "Records per processed batch.",
            quantiles(f"{SVC}_batch_size_records_bucket", "", ""),
            unit="short",
            width=8,
        )
    )
    board.with_panel(
        graph(
            "Offset commits",
            "Commits by outcome; failed ones are replayed by the next owner of the partition.",
            [
                prom(
                    f"sum by (outcome) (rate({SVC}_offset_commits_total[{RATE}]))",
                    "{{outcome}}",
                )
            ],
            unit="suffix: commits/s",
            width=8,
        )
    )
    board.with_panel(
        graph(
            "Lag by partition",
            "Highwater minus position per topic partition.",
            [
                prom(
                    f"sum by (topic, partition) ({SVC}_consumer_lag_records)",
                    "{{topic}}/{{partition}}",
                )
            ],
            unit="short",
            width=24,
        )
    )


def build() -> Dashboard:
    board = dashboard(
        UID,
        "VoC / Service detail",
        "RED metrics of one service: request rate, errors, duration; consumer health.",
    )
    board.with_variable(
        CustomVariable("service")
        .label("Service")
        .values(",".join(SERVICES))
        .current(VariableOption(text=SERVICES[0], value=SERVICES[0], selected=True))
    )
    _http(board)
    _consumer(board)
    return board
