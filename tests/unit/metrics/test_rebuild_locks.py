"""The table locks a rebuild takes, by mode: the default lets readers on, `--truncate` takes
what TRUNCATE needs on the tables it empties and no more, always in the writer's order."""

from __future__ import annotations

import pytest

from services.metrics.rebuild import LOCK, clear_sql, lock_statements

ORDER = ["feedback_facts", "score_rollups", "score_slices"]


def modes(statements: list[str]) -> dict[str, str]:
    """{table: mode} from one-table LOCK TABLE statements, in statement order."""
    out = {}
    for sql in statements:
        table, mode = sql.removeprefix("LOCK TABLE ").removesuffix(" MODE").split(" IN ")
        out[table] = mode
    return out


class TestLockStatements:
    @pytest.mark.parametrize(("rollups", "slices"), [(True, True), (False, True), (True, False)])
    def test_without_truncate_one_share_row_exclusive_lock(
        self, rollups: bool, slices: bool
    ) -> None:
        assert lock_statements(rollups=rollups, slices=slices, truncate=False) == [LOCK]
        assert "SHARE ROW EXCLUSIVE" in LOCK and "ACCESS" not in LOCK

    @pytest.mark.parametrize(
        ("rollups", "slices", "exclusive"),
        [
            (True, True, {"score_rollups", "score_slices"}),
            (False, True, {"score_slices"}),
            (True, False, {"score_rollups"}),
        ],
    )
    def test_truncate_locks_only_the_emptied_tables_access_exclusive(
        self, rollups: bool, slices: bool, exclusive: set[str]
    ) -> None:
        got = modes(lock_statements(rollups=rollups, slices=slices, truncate=True))
        assert list(got) == ORDER
        want = {t: "ACCESS EXCLUSIVE" if t in exclusive else "SHARE ROW EXCLUSIVE" for t in ORDER}
        assert got == want


class TestClear:
    def test_truncate_or_delete(self) -> None:
        assert clear_sql("score_slices", truncate=True) == "TRUNCATE score_slices"
        assert clear_sql("score_slices", truncate=False) == "DELETE FROM score_slices"
