"""Typed errors of the api service (rendered as {"error", "detail"} by shared.http)."""

from __future__ import annotations

from shared.errors import VocError


class UnknownTimeZone(VocError):
    """A zone Python knows but this PostgreSQL's time zone database does not."""

    status_code = 422
    code = "unknown_time_zone"
