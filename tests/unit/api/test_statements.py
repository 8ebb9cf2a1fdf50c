"""Which audience each summed part of statements.measures reads: customer metrics leave
employee-audience rows out, eNPS reads them alone, the item's n counts every row. And which
rows a statement reads: one source, or whole UTC days from a day twin plus edge hours."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql

from services.api.models import CompareQuery, DriversQuery, ScoreQuery, Window
from services.api.planner import ROLLUPS, SOURCES, choose
from services.api.reads import SERIAL, table
from services.api.scores import PART_KEYS
from services.api.statements import (
    compare_statement,
    drivers_statements,
    measures,
    scores_page_end,
    scores_statement,
)

CUSTOMER = "audience != 'employee'"
EMPLOYEE = "audience = 'employee'"


def compiled(columns: list[Any]) -> dict[str, str]:
    """Each labelled column's SQL, literals inlined, by label."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return {
        c.name: str(c.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        for c in columns
    }


@pytest.mark.parametrize("source", [ROLLUPS, SOURCES[0]], ids=lambda s: s.name)
class TestMeasures:
    def test_every_part_key_and_n_are_selected_once(self, source: Any) -> None:
        labels = [c.name for c in measures(table(source), prefix="p_")]
        assert sorted(labels) == sorted(f"p_{k}" for k in ("n", *PART_KEYS))

    def test_customer_metrics_read_only_non_employee_rows(self, source: Any) -> None:
        sql = compiled(measures(table(source)))
        customer = [k for k in PART_KEYS if not k.startswith("enps_")]
        assert len(customer) == 18
        for key in customer:
            assert CUSTOMER in sql[key] and EMPLOYEE not in sql[key], key

    def test_enps_reads_only_employee_rows(self, source: Any) -> None:
        sql = compiled(measures(table(source)))
        for key in ("enps_n", "enps_promoters", "enps_passives", "enps_detractors"):
            assert EMPLOYEE in sql[key] and CUSTOMER not in sql[key], key

    def test_the_items_n_counts_every_audience(self, source: Any) -> None:
        assert "audience" not in compiled(measures(table(source)))["n"]


def sql(stmt: Any) -> str:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


JAN = datetime(2025, 1, 1, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
TOUCHPOINT = choose(("touchpoint",))


def branches(text: str) -> list[str]:
    """The slice each UNION ALL branch reads, in order; [] when the statement reads no union."""
    return re.findall(r"WHERE score_slices\.slice = '(\w+)'", text) if "UNION ALL" in text else []


class TestHybridReads:
    def test_an_unaligned_total_reads_whole_days_and_edge_hours_in_one_union(self) -> None:
        query = ScoreQuery(JAN + 5 * HOUR, JAN + 30 * DAY + 7 * HOUR, "total", source=TOUCHPOINT)
        text = sql(scores_statement(query, 10))
        assert text.count("UNION ALL") == 2
        assert branches(text) == ["touchpoint", "touchpoint", "touchpoint_day"]
        # A branch for each edge's hours, one for the whole days between.
        assert "'2025-01-01 05:00:00+00:00'" in text and "'2025-01-31 07:00:00+00:00'" in text
        assert "bucket_start >= '2025-01-02 00:00:00+00:00'" in text
        assert "bucket_start < '2025-01-31 00:00:00+00:00'" in text

    def test_the_page_end_reads_the_same_rows_as_the_page(self) -> None:
        query = ScoreQuery(JAN + 5 * HOUR, JAN + 9 * DAY, "day", ("touchpoint",),
                           source=TOUCHPOINT, limit=3)  # fmt: skip
        page, end = sql(scores_statement(query, 4)), sql(scores_page_end(query))
        assert branches(page) == branches(end) == ["touchpoint", "touchpoint_day"]  # no end edge
        assert (
            page[page.index("FROM (") :].split(" GROUP BY")[0]
            == (end[end.index("FROM (") :].split(" GROUP BY")[0])
        )

    @pytest.mark.parametrize(
        ("start", "end", "granularity", "tz", "slice_"),
        [
            (JAN, JAN + 9 * DAY, "day", "UTC", "touchpoint_day"),  # aligned: the twin alone
            (JAN + HOUR, JAN + 9 * DAY, "hour", "UTC", "touchpoint"),  # hourly buckets
            (JAN + HOUR, JAN + 9 * DAY, "day", "Europe/Stockholm", "touchpoint"),  # local days
            (JAN + HOUR, JAN + DAY + 2 * HOUR, "total", "UTC", "touchpoint"),  # no whole day
        ],
    )
    def test_a_window_read_from_one_source_has_no_union(
        self, start: datetime, end: datetime, granularity: str, tz: str, slice_: str
    ) -> None:
        query = ScoreQuery(start, end, granularity, ("touchpoint",), {}, tz, source=TOUCHPOINT)  # type: ignore[arg-type]
        text = sql(scores_statement(query, 10))
        assert "UNION" not in text and f"score_slices.slice = '{slice_}'" in text
        assert not scores_statement(query, 10).get_execution_options().get(SERIAL)

    def test_a_union_asks_to_run_without_parallel_workers(self) -> None:
        query = ScoreQuery(JAN + 5 * HOUR, JAN + 9 * DAY, "day", source=TOUCHPOINT, limit=3)
        assert scores_statement(query, 4).get_execution_options()[SERIAL] is True
        assert scores_page_end(query).get_execution_options()[SERIAL] is True

    def test_compare_windows_sharing_hours_read_each_row_once(self) -> None:
        """Overlapping windows (refused by the API, possible in code): one branch a merged
        range, so no hourly or day row is summed twice into either window."""
        current = Window(JAN + 5 * HOUR, JAN + 5 * DAY + 5 * HOUR)
        previous = Window(JAN + 2 * DAY + 5 * HOUR, JAN + 8 * DAY + 5 * HOUR)
        text = sql(compare_statement(CompareQuery("nps", current, previous, source=TOUCHPOINT)))
        assert branches(text) == [*["touchpoint"] * 4, "touchpoint_day"]
        # The whole days of both, Jan 2-5 and Jan 4-8, are one range of day rows; each window's
        # sums still take only its own (the FILTER names the slice and the range).
        assert (
            "score_slices.slice = 'touchpoint_day' AND score_slices.bucket_start >= "
            "'2025-01-02 00:00:00+00:00' AND score_slices.bucket_start < '2025-01-09 00:00:00"
        ) in text
        current_n = text.split(" AS current_n,")[0].rsplit("CAST(", 1)[1]
        assert "parts.bucket_start < '2025-01-06 00:00:00+00:00'" in current_n

    def test_compare_counts_each_window_from_its_own_parts(self) -> None:
        current = Window(JAN + 20 * DAY + 6 * HOUR, JAN + 30 * DAY + 6 * HOUR)
        previous = Window(JAN + 10 * DAY + 6 * HOUR, current.start)
        text = sql(compare_statement(CompareQuery("nps", current, previous, source=TOUCHPOINT)))
        # The edges meeting at 21 Jan 06:00 read as one range: [21 Jan, 22 Jan).
        assert branches(text) == [*["touchpoint"] * 3, *["touchpoint_day"] * 2]
        # current_n sums its own whole days and edges, tagged by slice, and nothing of previous.
        current_n = text.split(" AS current_n,")[0].rsplit("CAST(", 1)[1]
        assert "parts.slice = 'touchpoint_day' AND parts.bucket_start >= '2025-01-22 00:00" in (
            current_n
        )
        assert "'2025-01-11 06:00:00+00:00'" not in current_n

    def test_drivers_read_the_topic_twin_and_the_overall_twin_in_parts(self) -> None:
        window = Window(JAN + 3 * HOUR, JAN + 30 * DAY + 3 * HOUR)
        query = DriversQuery("nps", window, 0.95, {"touchpoint": "checkout"},
                             choose(("topic", "touchpoint")), TOUCHPOINT)  # fmt: skip
        per_topic, overall = (sql(s) for s in drivers_statements(query))
        assert branches(per_topic) == [*["topic_touchpoint"] * 2, "topic_touchpoint_day"]
        assert branches(overall) == [*["touchpoint"] * 2, "touchpoint_day"]
        assert "parts.touchpoint = 'checkout'" in per_topic and "GROUP BY parts.topic" in per_topic
