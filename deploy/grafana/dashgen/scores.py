"""CX scores: NPS, CSAT and CES per touchpoint with their 95% margins and n, from PostgreSQL.

Everything but one panel reads `score_rollups` (additive hourly parts), so the dashboard stays
fast however many facts there are. The definitions are the API's (README "Score definitions"):
employee answers count in eNPS, never in NPS. Rollup buckets are hours of `occurred_at`, so the
time filter and grouping work in whole hours (the panels ask for a 1h minimum interval).
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

UID = "voc-cx-scores"
# Multi-value variables arrive as a quoted list ('a','b'); ANY(ARRAY[...]) also stays valid SQL
# when the list is empty (no data in range yet), where IN () would be a syntax error.
FILTERS = """$__timeFilter(bucket_start)
      AND touchpoint = ANY(ARRAY[$touchpoint]::text[])
      AND source_kind = ANY(ARRAY[$source_kind]::text[])"""
CUSTOMER = "audience <> 'employee'"
STAGE_ORDER = "ARRAY['awareness', 'consideration', 'conversion', 'retention', 'loyalty']"

HEADLINE = f"""
    SELECT
      sum(n) AS "items",
      100.0 * (sum(nps_promoters) FILTER (WHERE {CUSTOMER})
               - sum(nps_detractors) FILTER (WHERE {CUSTOMER}))
        / nullif(sum(nps_n) FILTER (WHERE {CUSTOMER}), 0) AS "NPS",
      100.0 * sum(csat_satisfied) / nullif(sum(csat_n), 0) AS "CSAT %",
      sum(ces_sum)::float8 / nullif(sum(ces_n), 0) AS "CES",
      sum(stars_sum)::float8 / nullif(sum(stars_n), 0) AS "stars",
      100.0 * sum(sentiment_sum) / nullif(sum(sentiment_n), 0) AS "sentiment index"
    FROM score_rollups
    WHERE {FILTERS}
"""

VOLUME = f"""
    SELECT
      $__timeGroupAlias(bucket_start, $__interval),
      source_kind AS metric,
      sum(n) AS "items"
    FROM score_rollups
    WHERE {FILTERS}
    GROUP BY 1, 2
    ORDER BY 1, 2
"""

# The rollups carry no topic dimension, so this one panel reads the facts: a range scan on
# ix_feedback_facts_occurred_at_id, fine for days, slow for a year of a busy feed.
NEGATIVE_BY_TOPIC = """
    SELECT
      primary_topic AS "topic",
      count(*) AS "n",
      100.0 * count(*) FILTER (WHERE sentiment_label = 'negative') / count(*) AS "negative %"
    FROM feedback_facts
    WHERE $__timeFilter(occurred_at)
      AND touchpoint = ANY(ARRAY[$touchpoint]::text[])
      AND source_kind = ANY(ARRAY[$source_kind]::text[])
      AND NOT deleted AND NOT unscored AND primary_topic IS NOT NULL
    GROUP BY 1
    ORDER BY 3 DESC, 2 DESC
"""

STAGES = f"""
    WITH s AS (
      SELECT
        journey_stage,
        sum(n) AS n,
        sum(nps_n) FILTER (WHERE {CUSTOMER}) AS nps_n,
        sum(nps_promoters) FILTER (WHERE {CUSTOMER}) AS promoters,
        sum(nps_detractors) FILTER (WHERE {CUSTOMER}) AS detractors,
        sum(csat_n) AS csat_n,
        sum(csat_satisfied) AS satisfied,
        sum(ces_n) AS ces_n,
        sum(ces_sum) AS ces_sum,
        sum(ces_easy) AS ces_easy,
        sum(sentiment_n) AS sentiment_n,
        sum(sentiment_sum) AS sentiment_sum,
        sum(sentiment_negative) AS negative
      FROM score_rollups
      WHERE {FILTERS}
      GROUP BY journey_stage
    ), r AS (
      SELECT *,
        promoters / nullif(nps_n, 0)::float8 AS p,
        detractors / nullif(nps_n, 0)::float8 AS d,
        satisfied / nullif(csat_n, 0)::float8 AS c
      FROM s
    )
    SELECT
      journey_stage AS "stage",
      n AS "items",
      100 * (p - d) AS "NPS",
      -- greatest() skips NULLs: keep the divisor NULL, not 0, for a stage without answers.
      196 * sqrt(greatest(0, p + d - (p - d) ^ 2) / nullif(nps_n, 0)) AS "NPS ±",
      nps_n AS "NPS n",
      100 * c AS "CSAT %",
      196 * sqrt(c * (1 - c) / nullif(csat_n, 0)) AS "CSAT ±",
      csat_n AS "CSAT n",
      ces_sum / nullif(ces_n, 0)::float8 AS "CES",
      100 * ces_easy / nullif(ces_n, 0)::float8 AS "CES % easy",
      ces_n AS "CES n",
      100 * sentiment_sum / nullif(sentiment_n, 0) AS "sentiment index",
      100 * negative / nullif(sentiment_n, 0)::float8 AS "negative %"
    FROM r
    ORDER BY array_position({STAGE_ORDER}, journey_stage)
"""

NPS = f"""
    WITH b AS (
      SELECT
        $__timeGroupAlias(bucket_start, $__interval),
        sum(nps_n)::float8 AS n,
        sum(nps_promoters) / sum(nps_n)::float8 AS p,
        sum(nps_detractors) / sum(nps_n)::float8 AS d
      FROM score_rollups
      WHERE {FILTERS}
        AND {CUSTOMER}
      GROUP BY 1
      HAVING sum(nps_n) > 0
    )
    SELECT
      time,
      100 * (p - d) AS "NPS",
      greatest(-100, 100 * (p - d) - 196 * sqrt(greatest(0, p + d - (p - d) ^ 2) / n)) AS "lower",
      least(100, 100 * (p - d) + 196 * sqrt(greatest(0, p + d - (p - d) ^ 2) / n)) AS "upper",
      n AS "n"
    FROM b
    ORDER BY time
"""

CSAT = f"""
    WITH b AS (
      SELECT
        $__timeGroupAlias(bucket_start, $__interval),
        sum(csat_n)::float8 AS n,
        sum(csat_satisfied) / sum(csat_n)::float8 AS p
      FROM score_rollups
      WHERE {FILTERS}
      GROUP BY 1
      HAVING sum(csat_n) > 0
    )
    SELECT
      time,
      100 * p AS "CSAT %",
      greatest(0, 100 * p - 196 * sqrt(p * (1 - p) / n)) AS "lower",
      least(100, 100 * p + 196 * sqrt(p * (1 - p) / n)) AS "upper",
      n AS "n"
    FROM b
    ORDER BY time
"""

CES = f"""
    SELECT
      $__timeGroupAlias(bucket_start, $__interval),
      sum(ces_sum)::float8 / sum(ces_n) AS "CES mean",
      sum(ces_n) AS "n"
    FROM score_rollups
    WHERE {FILTERS}
    GROUP BY 1
    HAVING sum(ces_n) > 0
    ORDER BY 1
"""


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
            "CES = mean effort answer, 1–7, higher is easier. No band: the rollups keep Σ and n, "
            "not Σx², so the mean's variance is unknown (the stage table shows % easy). Bars: n.",
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
            "Negative share by topic",
            "Scored items by primary topic and the % of them with negative sentiment. Reads "
            "feedback_facts (rollups have no topic), so keep the range to weeks.",
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
