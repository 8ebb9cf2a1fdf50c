"""Typed errors of the ingestion kit, rendered by shared.http's VocError handler."""

from __future__ import annotations

from shared.errors import VocError


class UnsupportedMediaType(VocError):
    status_code = 415
    code = "unsupported_media_type"


class InvalidPayload(VocError):
    """The body is not JSON, or an item fails its model; detail lists `{loc, msg, type}`."""

    status_code = 422
    code = "validation_error"
