"""Typed errors. Each carries the HTTP status it maps to; one handler renders them all as
`{"error": <code>, "detail": <message>}` (see shared.http)."""

from __future__ import annotations

from typing import Any


class VocError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, detail: Any = None) -> None:
        super().__init__(detail)
        self.detail = detail if detail is not None else self.code


class BadRequest(VocError):
    status_code = 400
    code = "bad_request"


class NotFound(VocError):
    status_code = 404
    code = "not_found"


class PayloadTooLarge(VocError):
    status_code = 413
    code = "payload_too_large"


class BrokerUnavailable(VocError):
    """The broker did not acknowledge a write in time. Callers should retry later."""

    status_code = 503
    code = "broker_unavailable"


class DatabaseUnavailable(VocError):
    status_code = 503
    code = "database_unavailable"
