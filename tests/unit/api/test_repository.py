"""Which database failures the api turns into typed errors (the SQLSTATE an error carries)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from services.api.errors import UnknownTimeZone
from services.api.repository import _translate, is_unavailable
from shared.errors import DatabaseUnavailable


class DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def failure(sqlstate: str) -> DBAPIError:
    return DBAPIError("SELECT 1", None, DriverError(sqlstate))


class TestTranslate:
    def test_a_time_zone_postgres_does_not_know_is_a_422(self) -> None:
        error = _translate(failure("22023"))
        assert isinstance(error, UnknownTimeZone) and error.status_code == 422

    @pytest.mark.parametrize("sqlstate", ["42P01", "42703", "08006", "57P01"])
    def test_missing_schema_or_connection_is_unavailable(self, sqlstate: str) -> None:
        assert is_unavailable(failure(sqlstate))
        assert isinstance(_translate(failure(sqlstate)), DatabaseUnavailable)

    def test_anything_else_is_left_to_fail_loudly(self) -> None:
        error = failure("42601")  # syntax error: a bug, not a condition
        assert _translate(error) is error
