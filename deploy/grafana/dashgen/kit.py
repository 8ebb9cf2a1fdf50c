"""Building blocks shared by the dashboards: datasource refs, query targets, panel defaults.

Panels are grafana-foundation-sdk builders. The SDK has no PostgreSQL query type in this
version, so `Sql` is a small Dataquery of our own that serialises like Grafana's own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal, Self

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders.dashboard import Dashboard, ThresholdsConfig
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    DataTransformerConfig,
    DynamicConfigValue,
    Panel,
    RowPanel,
    Threshold,
    ThresholdsMode,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

# The uids provisioned in deploy/grafana/provisioning/datasources/datasources.yaml.
PROMETHEUS = DataSourceRef(type_val="prometheus", uid="voc-prometheus")
POSTGRES = DataSourceRef(type_val="grafana-postgresql-datasource", uid="voc-postgres")

INGEST_SERVICES = ("surveys", "tickets", "reviews", "social")
CONSUMER_SERVICES = ("classifier", "metrics")
SERVICES = ("api", *INGEST_SERVICES, *CONSUMER_SERVICES)
# Prometheus job label = compose service name (deploy/prometheus/prometheus.yml). Metric names
# carry the service, so cross-service panels select by name pattern and group by job.
INGEST = "|".join(INGEST_SERVICES)
CONSUMERS = "|".join(CONSUMER_SERVICES)
ALL_JOBS = "|".join(SERVICES)

RATE = "$__rate_interval"
Target = cogbuilder.Builder[cogvariants.Dataquery]


class SqlQuery(cogvariants.Dataquery):
    """A raw-SQL target of Grafana's PostgreSQL datasource."""

    def __init__(self, ref_id: str, raw_sql: str, fmt: Literal["time_series", "table"]) -> None:
        self.ref_id = ref_id
        self.raw_sql = raw_sql
        self.format = fmt

    def to_json(self) -> dict[str, object]:
        return {
            "datasource": POSTGRES.to_json(),
            "editorMode": "code",
            "format": self.format,
            "rawQuery": True,
            "rawSql": self.raw_sql,
            "refId": self.ref_id,
        }


class Sql(cogbuilder.Builder[SqlQuery]):
    """Builder of a SqlQuery; the SQL may be indented like the Python around it."""

    def __init__(self, raw_sql: str, fmt: Literal["time_series", "table"] = "time_series") -> None:
        self._query = SqlQuery("A", dedent_sql(raw_sql), fmt)

    def ref_id(self, ref_id: str) -> Self:
        self._query.ref_id = ref_id
        return self

    def build(self) -> SqlQuery:
        return self._query


def dedent_sql(sql: str) -> str:
    lines = [line.rstrip() for line in sql.strip("\n").splitlines()]
    indent = min(len(line) - len(line.lstrip()) for line in lines if line)
    return "\n".join(line[indent:] for line in lines)


def by_name(subject: str, services: str, matchers: str = "") -> str:
    """A selector for `voc_<service>_<subject>` across `services` (an alternation)."""
    extra = f", {matchers}" if matchers else ""
    return f'{{__name__=~"voc_({services})_{subject}"{extra}}}'


def prom(expr: str, legend: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend).range()


def quantiles(
    bucket_metric: str, by: str, legend: str, qs: Sequence[float] = (0.5, 0.99)
) -> list[prometheus.Dataquery]:
    """histogram_quantile targets over `bucket_metric` (a selector ending in _bucket)."""
    return [
        prom(
            f"histogram_quantile({q}, sum by ({by}{', ' if by else ''}le) "
            f"(rate({bucket_metric}[{RATE}])))",
            f"p{round(q * 100)} {legend}".strip(),
        )
        for q in qs
    ]


def _with_targets(panel: Any, targets: Sequence[Target]) -> Any:
    for i, target in enumerate(targets):
        panel.with_target(target.ref_id(chr(ord("A") + i)))  # type: ignore[attr-defined]
    return panel


def graph(
    title: str,
    description: str,
    targets: Sequence[Target],
    *,
    unit: str = "short",
    width: int = 12,
    height: int = 8,
    datasource: DataSourceRef = PROMETHEUS,
    stacked: bool = False,
    bars: bool = False,
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(datasource)
        .unit(unit)
        .span(width)
        .height(height)
        .fill_opacity(10)
        .line_width(1)
        .legend(
            cb.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
        )
        .tooltip(cb.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI))
    )
    if stacked:
        panel.stacking(cb.StackingConfig().mode(common.StackingMode.NORMAL))
    if bars:
        panel.draw_style(common.GraphDrawStyle.BARS).fill_opacity(80)
    return _with_targets(panel, targets)  # type: ignore[no-any-return]


def score_graph(
    title: str, description: str, target: Target, *, unit: str, low: float, high: float
) -> timeseries.Panel:
    """A score line with its 95% band (columns "lower"/"upper") and n as bars on the right."""
    no_line = DynamicConfigValue(id_val="custom.lineWidth", value=0)
    return (
        graph(title, description, [target], unit=unit, width=8, datasource=POSTGRES)
        .min(low)
        .max(high)
        .span_nulls(False)
        .show_points(common.VisibilityMode.ALWAYS)
        .override_by_name(
            "upper",
            [
                no_line,
                DynamicConfigValue(id_val="custom.fillBelowTo", value="lower"),
                DynamicConfigValue(id_val="custom.fillOpacity", value=20),
                DynamicConfigValue(id_val="custom.showPoints", value="never"),
            ],
        )
        .override_by_name(
            "lower",
            [no_line, DynamicConfigValue(id_val="custom.showPoints", value="never")],
        )
        .override_by_name(
            "n",
            [
                DynamicConfigValue(id_val="custom.drawStyle", value="bars"),
                DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
                DynamicConfigValue(id_val="custom.fillOpacity", value=30),
                DynamicConfigValue(id_val="unit", value="none"),
                DynamicConfigValue(id_val="min", value=0),
            ],
        )
    )


def up_stat(title: str, description: str, expr: str, legend: str, width: int) -> stat.Panel:
    red_below_one = (
        ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=None, color="red"), Threshold(value=1, color="green")])
    )
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .span(width)
        .height(4)
        .thresholds(red_below_one)
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    return _with_targets(panel, [prom(expr, legend).instant()])  # type: ignore[no-any-return]


def sql_stat(title: str, description: str, sql: str, width: int) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(POSTGRES)
        .span(width)
        .height(4)
        .decimals(1)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(True).fields("/.*/"))
    )
    return _with_targets(panel, [Sql(sql, "table")])  # type: ignore[no-any-return]


def sql_table(
    title: str, description: str, sql: str, *, width: int = 24, height: int = 8
) -> table.Panel:
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(POSTGRES)
        .span(width)
        .height(height)
        .decimals(1)
    )
    return _with_targets(panel, [Sql(sql, "table")])  # type: ignore[no-any-return]


def prom_table(
    title: str, description: str, expr: str, columns: Sequence[str], *, width: int = 12
) -> table.Panel:
    """The series an instant query returns now, one row each, showing only `columns` (labels):
    Grafana's Time and Value columns are hidden, so a 0/1 gauge reads as a list."""
    query = prom(expr, "").instant().format(PromQueryFormat.TABLE)
    organize = DataTransformerConfig(
        id_val="organize",
        options={
            "excludeByName": {"Time": True, "Value": True},
            "indexByName": {name: i for i, name in enumerate(columns)},
        },
    )
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .span(width)
        .height(8)
        .with_transformation(organize)
    )
    return _with_targets(panel, [query])  # type: ignore[no-any-return]


def dashboard(uid: str, title: str, description: str) -> Dashboard:
    return (
        Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["voc"])
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .time("now-6h", "now")
        .timezone("utc")
        .refresh("1m")
    )


def render(board: Dashboard) -> str:
    """The dashboard as the committed JSON: panel ids numbered in layout order, keys sorted."""
    model = board.build()
    next_id = 1
    for panel in model.panels or []:
        if isinstance(panel, (Panel, RowPanel)):
            panel.id_val = next_id
            next_id += 1
        for nested in getattr(panel, "panels", None) or []:
            nested.id_val = next_id
            next_id += 1
    return json.dumps(model, cls=JSONEncoder, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
