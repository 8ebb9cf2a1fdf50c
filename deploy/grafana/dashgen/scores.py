"""CX scores: NPS, CSAT and CES per touchpoint with their 95% margins and n, from PostgreSQL.

Every panel reads additive hourly parts, `score_rollups` and (for topics) `score_slices`, never
the facts, so the dashboard stays fast however many facts there are. The definitions are the
API's (README "Score definitions"): employee answers count in eNPS, never in NPS. Buckets are
hours of `occurred_at`, so the time filter and grouping work in whole hours (the panels ask for
a 1h minimum interval). The SQL is in scores_sql.py.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, QueryVariable, Row
from grafana_foundation_sdk.models.dashboard import (
    DynamicConfigValue,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from deploy.grafana.dashgen.kit import (
    POSTGRES,
    Sql,
    dashboard,
    graph,
    score_graph,
    sql_stat,
    sql_table,
)
from deploy.grafana.dashgen.scores_sql import (
    CES,
    CSAT,
    HEADLINE,
    NEGATIVE_BY_TOPIC,
    NPS,
    STAGES,
    VOLUME,
)

UID = "voc-cx-scores"


def _variable(name: str, label: str) -> QueryVariable:
    return (
        QueryVariable(name)
        .label(label)
        .datasource(POSTGRES)
        .query(
            f"SELECT DISTINCT {name} FROM score_rollups "
            f"WHERE $__timeFilter(bucket_start) ORDER BY 1"
        )
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .current(VariableOption(text="All", value="$__all", selected=True))
    )


def _touchpoint_row(board: Dashboard) -> None:
    # One row per selected touchpoint: Grafana repeats the row and its three panels.
    board.with_row(Row("Touchpoint: $touchpoint").repeat("touchpoint"))
    board.with_panel(
        score_graph(
            "NPS",
            "NPS = 100 × (promoters − detractors) / n, customers only. Band: 95% margin of "
            "error, 1.96 × 100 × √((p + d − (p − d)²) / n). Bars: n.",
            Sql(NPS),
            unit="none",
            low=-100,
            high=100,
        ).interval("1h")
    )
    board.with_panel(
        score_graph(
            "CSAT",
            "CSAT = % of 4–5 answers. Band: 95% margin of error, 1.96 × 100 × √(p(1 − p) / n). "
            "Bars: n.",
            Sql(CSAT),
            unit="percent",
            low=0,
            high=100,
        ).interval("1h")
    )
    board.with_panel(
        score_graph(
            "CES",
            "CES = mean effort answer, 1–7, higher is easier. Band: 95% t-interval, "
            "t(0.975, n − 1) × s / √n with s² = (Σx² − (Σx)² / n) / (n − 1); none when n < 2. "
            "Bars: n.",
            Sql(CES),
            unit="none",
            low=1,
            high=7,
        ).interval("1h")
    )


def build() -> Dashboard:
    board = dashboard(
        UID,
        "VoC / CX scores",
        "NPS, CSAT, CES per touchpoint and journey stage, with margins of error and n.",
    ).time("now-7d", "now")
    board.with_variable(_variable("touchpoint", "Touchpoint"))
    board.with_variable(_variable("source_kind", "Source kind"))
    board.with_panel(
        sql_stat(
            "Selected range",
            "Items, NPS, CSAT %, CES mean, stars mean and sentiment index over the whole range.",
            HEADLINE,
            width=24,
        )
    )
    board.with_row(Row("Volume and drivers"))
    board.with_panel(
        graph(
            "Volume by source kind",
            "Live items per hour bucket of occurred_at, by source kind.",
            [Sql(VOLUME)],
            unit="short",
            datasource=POSTGRES,
            stacked=True,
            bars=True,
        ).interval("1h")
    )
    board.with_panel(
        sql_table(
            "Negative share by topic (all topics)",
            "Scored customer items by topic and the % of them with negative sentiment. An item "
            "counts in each of its topics, not only its primary one, so the n add up to more "
            "than the items. From the hourly topic × touchpoint slices: follows the touchpoint "
            "variable; source kind does not apply (the slices have no source kind).",
            NEGATIVE_BY_TOPIC,
            width=12,
        ).override_by_name("negative %", [DynamicConfigValue(id_val="unit", value="percent")])
    )
    board.with_row(Row("Journey stages"))
    board.with_panel(
        sql_table(
            "Journey-stage summary",
            "Per stage, awareness to loyalty: scores with their 95% margins (±) and n.",
            STAGES,
        )
    )
    _touchpoint_row(board)
    return board
