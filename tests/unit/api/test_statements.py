"""Which audience each summed part of statements.measures reads: customer metrics leave
employee-audience rows out, eNPS reads them alone, the item's n counts every row."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.dialects import postgresql

from services.api.planner import ROLLUPS, SOURCES
from services.api.scores import PART_KEYS
from services.api.statements import measures

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
        labels = [c.name for c in measures(source, prefix="p_")]
        assert sorted(labels) == sorted(f"p_{k}" for k in ("n", *PART_KEYS))

    def test_customer_metrics_read_only_non_employee_rows(self, source: Any) -> None:
        sql = compiled(measures(source))
        customer = [k for k in PART_KEYS if not k.startswith("enps_")]
        assert len(customer) == 18
        for key in customer:
            assert CUSTOMER in sql[key] and EMPLOYEE not in sql[key], key

    def test_enps_reads_only_employee_rows(self, source: Any) -> None:
        sql = compiled(measures(source))
        for key in ("enps_n", "enps_promoters", "enps_passives", "enps_detractors"):
            assert EMPLOYEE in sql[key] and CUSTOMER not in sql[key], key

    def test_the_items_n_counts_every_audience(self, source: Any) -> None:
        assert "audience" not in compiled(measures(source))["n"]
