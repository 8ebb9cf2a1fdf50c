"""Verifying vendor deliveries: HMAC signatures over raw bytes, replay windows, shared tokens.

Every check compares in constant time (`hmac.compare_digest`) and fails with `AuthFailure`,
whose reason names what was wrong without ever echoing the expected value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from shared.errors import VocError
from shared.ingest.webhooks.timestamps import to_utc

Algorithm = Literal["sha1", "sha256", "sha512"]
Encoding = Literal["hex", "base64"]
AuthReason = Literal[
    "missing_signature", "bad_signature", "stale_timestamp", "missing_token", "bad_token"
]
AUTH_REASONS: tuple[AuthReason, ...] = (
    "missing_signature",
    "bad_signature",
    "stale_timestamp",
    "missing_token",
    "bad_token",
)


class AuthFailure(VocError):
    """401: the delivery is not provably from the vendor. `reason` is a bounded label."""

    status_code = 401
    code = "unauthorized"

    def __init__(self, reason: AuthReason) -> None:
        super().__init__(reason)
        self.reason: AuthReason = reason


def _key(secret: str | bytes) -> bytes:
    # Vendors sign with the secret's bytes as given (Zendesk's base64-looking secret included).
    return secret.encode() if isinstance(secret, str) else secret


def hmac_digest(secret: str | bytes, message: bytes, algorithm: Algorithm = "sha256") -> bytes:
    return hmac.new(_key(secret), message, getattr(hashlib, algorithm)).digest()


def sign(
    secret: str | bytes,
    message: bytes,
    *,
    algorithm: Algorithm = "sha256",
    encoding: Encoding = "hex",
    prefix: str = "",
) -> str:
    """The signature a vendor would send for `message` (what tests and docs compute)."""
    digest = hmac_digest(secret, message, algorithm)
    text = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    return prefix + text


def _decode(text: str, encoding: Encoding) -> bytes | None:
    try:
        if encoding == "hex":
            return bytes.fromhex(text)
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        return None


def verify_signature(
    provided: str | None,
    *,
    secret: str | bytes,
    message: bytes,
    algorithm: Algorithm = "sha256",
    encoding: Encoding = "hex",
    prefix: str = "",
) -> None:
    """Check `provided` == prefix + encode(HMAC(secret, message)); raise AuthFailure if not.

    The digest is compared as bytes, so hex case and base64 padding quirks do not matter.
    """
    value = (provided or "").strip()
    if not value:
        raise AuthFailure("missing_signature")
    if prefix:
        if not value.lower().startswith(prefix.lower()):
            raise AuthFailure("bad_signature")
        value = value[len(prefix) :]
    received = _decode(value, encoding)
    expected = hmac_digest(secret, message, algorithm)
    if received is None or not hmac.compare_digest(received, expected):
        raise AuthFailure("bad_signature")


def check_timestamp(timestamp: str | None, *, now: datetime, tolerance_s: float) -> datetime:
    """The signed timestamp as UTC, if it lies within `tolerance_s` of `now` (either side).

    A captured delivery replayed later fails here even though its signature is genuine.
    """
    if not timestamp or not timestamp.strip():
        raise AuthFailure("missing_signature")
    try:
        moment = to_utc(timestamp.strip())
    except ValueError as exc:
        raise AuthFailure("bad_signature") from exc
    if abs((now - moment).total_seconds()) > tolerance_s:
        raise AuthFailure("stale_timestamp")
    return moment


def verify_timestamped_signature(
    provided: str | None,
    timestamp: str | None,
    *,
    secret: str | bytes,
    body: bytes,
    now: datetime,
    tolerance_s: float,
    algorithm: Algorithm = "sha256",
    encoding: Encoding = "base64",
) -> None:
    """Zendesk's scheme: signature over timestamp ‖ body, and the timestamp in the window.

    The signature is checked first, so a forged request learns nothing about the window.
    """
    if not (provided or "").strip():
        raise AuthFailure("missing_signature")
    stamp = (timestamp or "").strip()
    verify_signature(
        provided,
        secret=secret,
        message=stamp.encode() + body,
        algorithm=algorithm,
        encoding=encoding,
    )
    check_timestamp(stamp, now=now, tolerance_s=tolerance_s)


def crc_response_token(secret: str | bytes, crc_token: str) -> str:
    """X (Twitter) challenge answer: `sha256=` + base64 HMAC-SHA256(secret, crc_token)."""
    return sign(secret, crc_token.encode(), encoding="base64", prefix="sha256=")


def _same(a: str, b: str) -> bool:
    # Hashing first makes the comparison independent of the lengths as well.
    return hmac.compare_digest(
        hashlib.sha256(a.encode()).digest(), hashlib.sha256(b.encode()).digest()
    )


def verify_token(headers: Mapping[str, str], secret: str) -> None:
    """For vendors that cannot sign: `Authorization: Bearer <token>`, or Basic auth whose
    password is the token (for vendors that only let you put credentials in the URL)."""
    auth = headers.get("authorization", "").strip()
    if not auth:
        raise AuthFailure("missing_token")
    scheme, _, credentials = auth.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        token = credentials
    elif scheme.lower() == "basic" and credentials:
        decoded = _decode(credentials, "base64")
        if decoded is None:
            raise AuthFailure("bad_token")
        token = decoded.decode("utf-8", "replace").partition(":")[2]
    else:
        raise AuthFailure("missing_token")
    if not token or not _same(token, secret):
        raise AuthFailure("bad_token")
