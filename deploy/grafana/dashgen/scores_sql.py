"""The CX scores dashboard's SQL: read by Grafana's PostgreSQL datasource (as `voc_grafana`,
which may read feedback_facts, score_rollups and score_slices only), on the rollups and slices.

Grafana expands $__timeFilter, $__timeGroupAlias, $__interval and the $touchpoint/$source_kind
variables before PostgreSQL sees the text (tests/integration/ops/grafana.py does the same).
"""

from __future__ import annotations

# Multi-value variables arrive as a quoted list ('a','b'); ANY(ARRAY[...]) also stays valid SQL
# when the list is empty (no data in range yet), where IN () would be a syntax error.
FILTERS = """$__timeFilter(bucket_start)
      AND touchpoint = ANY(ARRAY[$touchpoint]::text[])
      AND source_kind = ANY(ARRAY[$source_kind]::text[])"""
CUSTOMER = "audience <> 'employee'"
STAGE_ORDER = "ARRAY['awareness', 'consideration', 'conversion', 'retention', 'loyalty']"

# Student's t(0.975, df) for a 95% interval of a mean. PostgreSQL has no t quantile, so: a
# lookup for df 1..30 (3 decimals; an index past the array is NULL), and beyond it the first
# Cornish-Fisher term z + (z^3 + z) / (4 df) with z = 1.96, within 0.2% of t there. A plain
# 1.96 would be 6.5x too narrow at n = 2 and still 10% at n = 10, where per-hour CES lives.
T_975 = (
    "ARRAY[12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, "
    "2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, "
    "2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]"
)


def t_margin(n: str, total: str, sumsq: str) -> str:
    """SQL for the 95% t margin of a mean from n, Σx and Σx² (float8 expressions); NULL if n < 2.

    s² = (Σx² − (Σx)²/n) / (n − 1); greatest() keeps rounding from making it negative.
    """
    df = f"({n} - 1)"
    t = f"coalesce(({T_975})[{df}::int], 1.96 + 2.372 / {df})"
    variance = f"greatest(0, ({sumsq} - ({total}) ^ 2 / {n}) / {df})"
    return f"CASE WHEN {n} >= 2 THEN {t} * sqrt({variance} / {n}) END"


HEADLINE = f"""
    SELECT
      sum(n) AS "items",
      100.0 * (sum(nps_promoters) FILTER (WHERE {CUSTOMER})
               - sum(nps_detractors) FILTER (WHERE {CUSTOMER}))
        / nullif(sum(nps_n) FILTER (WHERE {CUSTOMER}), 0) AS "NPS",
      100.0 * sum(csat_satisfied) FILTER (WHERE {CUSTOMER})
        / nullif(sum(csat_n) FILTER (WHERE {CUSTOMER}), 0) AS "CSAT %",
      sum(ces_sum) FILTER (WHERE {CUSTOMER})::float8
        / nullif(sum(ces_n) FILTER (WHERE {CUSTOMER}), 0) AS "CES",
      sum(stars_sum) FILTER (WHERE {CUSTOMER})::float8
        / nullif(sum(stars_n) FILTER (WHERE {CUSTOMER}), 0) AS "stars",
      100.0 * sum(sentiment_sum) FILTER (WHERE {CUSTOMER})
        / nullif(sum(sentiment_n) FILTER (WHERE {CUSTOMER}), 0) AS "sentiment index"
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

# Topics come from score_slices' hourly `topic_touchpoint` slice: a fact counts once in each of
# its topics (all of them, not just the primary); topic '' holds the facts without one, left
# out. The slice has no source_kind dimension, so this one panel ignores $source_kind.
# sentiment_n counts the scored facts, sentiment_negative those of them labelled negative.
NEGATIVE_BY_TOPIC = f"""
    SELECT
      topic AS "topic",
      sum(sentiment_n) AS "n",
      100.0 * sum(sentiment_negative) / sum(sentiment_n) AS "negative %"
    FROM score_slices
    WHERE slice = 'topic_touchpoint'
      AND $__timeFilter(bucket_start)
      AND touchpoint = ANY(ARRAY[$touchpoint]::text[])
      AND {CUSTOMER}
      AND topic <> ''
    GROUP BY 1
    HAVING sum(sentiment_n) > 0
    ORDER BY 3 DESC, 2 DESC, 1
"""

STAGES = f"""
    WITH s AS (
      SELECT
        journey_stage,
        sum(n) AS n,
        sum(nps_n) FILTER (WHERE {CUSTOMER}) AS nps_n,
        sum(nps_promoters) FILTER (WHERE {CUSTOMER}) AS promoters,
        sum(nps_detractors) FILTER (WHERE {CUSTOMER}) AS detractors,
        sum(csat_n) FILTER (WHERE {CUSTOMER}) AS csat_n,
        sum(csat_satisfied) FILTER (WHERE {CUSTOMER}) AS satisfied,
        sum(ces_n) FILTER (WHERE {CUSTOMER}) AS ces_n,
        sum(ces_sum) FILTER (WHERE {CUSTOMER})::float8 AS ces_sum,
        sum(ces_sumsq) FILTER (WHERE {CUSTOMER})::float8 AS ces_sumsq,
        sum(ces_easy) FILTER (WHERE {CUSTOMER}) AS ces_easy,
        sum(sentiment_n) FILTER (WHERE {CUSTOMER}) AS sentiment_n,
        sum(sentiment_sum) FILTER (WHERE {CUSTOMER}) AS sentiment_sum,
        sum(sentiment_negative) FILTER (WHERE {CUSTOMER}) AS negative
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
      ces_sum / nullif(ces_n, 0) AS "CES",
      {t_margin("ces_n", "ces_sum", "ces_sumsq")} AS "CES ±",
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
        AND {CUSTOMER}
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
    WITH b AS (
      SELECT
        $__timeGroupAlias(bucket_start, $__interval),
        sum(ces_n)::float8 AS n,
        sum(ces_sum)::float8 AS total,
        sum(ces_sumsq)::float8 AS sumsq
      FROM score_rollups
      WHERE {FILTERS}
        AND {CUSTOMER}
      GROUP BY 1
      HAVING sum(ces_n) > 0
    ), m AS (
      SELECT time, n, total / n AS mean, {t_margin("n", "total", "sumsq")} AS moe
      FROM b
    )
    SELECT
      time,
      mean AS "CES mean",
      -- CASE, not greatest() alone: greatest(1, NULL) is 1, and n < 2 must show no band.
      CASE WHEN moe IS NOT NULL THEN greatest(1, mean - moe) END AS "lower",
      CASE WHEN moe IS NOT NULL THEN least(7, mean + moe) END AS "upper",
      n AS "n"
    FROM m
    ORDER BY time
"""
