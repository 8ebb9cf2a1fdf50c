"""Typed errors of the webhook route, rendered as {"error", "detail"} like every VocError."""

from __future__ import annotations

import math

from fastapi import Request
from fastapi.responses import JSONResponse

from shared.errors import VocError
from shared.http import error_response


class UnknownVendor(VocError):
    status_code = 404
    code = "unknown_vendor"


class VendorDisabled(VocError):
    """The vendor has an adapter but no secret: it never accepts anything."""

    status_code = 404
    code = "vendor_disabled"


class HandshakeNotSupported(VocError):
    status_code = 405
    code = "method_not_allowed"


class RateLimited(VocError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after_s))
        super().__init__(f"too many deliveries; retry after {self.retry_after} s")


async def rate_limited_handler(_: Request, exc: Exception) -> JSONResponse:
    """The generic VocError handler knows no Retry-After for 429; this one adds it."""
    assert isinstance(exc, RateLimited)
    return error_response(
        exc.status_code, exc.code, exc.detail, {"Retry-After": str(exc.retry_after)}
    )
