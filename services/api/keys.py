"""API keys: their format, hashing and scopes. Pure functions, no I/O.

A key is `voc_<id>_<secret>`: the id (16 hex digits) names the row and may be shown and logged;
the secret (32 random bytes, URL-safe base64) is shown once, at creation, and stored only as its
SHA-256. A fast hash is enough here because the secret is 256 bits from the OS's CSPRNG: nobody
can enumerate that space whatever the hash costs. Slow hashes (bcrypt, argon2) are for
human-chosen passwords, and on every request they would cost milliseconds of CPU.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

PREFIX = "voc"
SCORES_READ = "scores:read"
FEEDBACK_READ = "feedback:read"
ADMIN = "admin"
# Verbatims are more sensitive than aggregates, hence their own scope; admin grants every scope.
SCOPES = (SCORES_READ, FEEDBACK_READ, ADMIN)

_ID_HEX = 16
_SECRET_BYTES = 32
_KEY = re.compile(rf"{PREFIX}_(?P<id>[0-9a-f]{{{_ID_HEX}}})_(?P<secret>[A-Za-z0-9_-]{{43}})")


class InvalidScopes(ValueError):
    """Scopes given to `voc api-key create` that are empty or unknown."""


@dataclass(frozen=True)
class NewKey:
    id: str
    key: str  # the whole key, shown once
    secret_sha256: bytes


@dataclass(frozen=True)
class ApiKey:
    """A stored key as the api checks it: never the secret, only its hash."""

    id: str
    name: str
    secret_sha256: bytes
    scopes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def grants(self, scope: str) -> bool:
        return scope in self.scopes or ADMIN in self.scopes

    def matches(self, secret: str) -> bool:
        # Constant time, so response timing says nothing about how much of a guess was right.
        return hmac.compare_digest(hash_secret(secret), self.secret_sha256)


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def generate() -> NewKey:
    key_id = secrets.token_hex(_ID_HEX // 2)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return NewKey(key_id, f"{PREFIX}_{key_id}_{secret}", hash_secret(secret))


def parse(key: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed key; None for anything else."""
    match = _KEY.fullmatch(key)
    return (match["id"], match["secret"]) if match else None


def parse_scopes(text: str | Iterable[str]) -> list[str]:
    """Scopes from `a,b` (or a list), deduplicated in the canonical order; all must be known."""
    items = text.split(",") if isinstance(text, str) else list(text)
    wanted = {s.strip() for s in items if s.strip()}
    if not wanted:
        raise InvalidScopes(f"give at least one scope: {', '.join(SCOPES)}")
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise InvalidScopes(f"unknown scope {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    return [s for s in SCOPES if s in wanted]
