"""Bearer API keys with scopes: the route dependency, a short-lived lookup cache, last use.

Each route declares the scope it needs (`dependencies=[requires(SCORES_READ)]`); ops routes
declare none and stay open. A key lookup is cached for `API_AUTH__CACHE_TTL_S` (30 s), so a
request is not a database round trip, and a revoke takes effect within that time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

import structlog
from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.api import keys
from services.api.keys import ApiKey
from services.api.keys_repository import KeyRepository, touch_last_used
from services.api.repository import is_unavailable
from services.api.settings import AuthSettings
from shared.errors import DatabaseUnavailable
from shared.http import ErrorBody

log = structlog.get_logger(__name__)

Lookup = Callable[[str], Awaitable[ApiKey | None]]
Touch = Callable[[str], Awaitable[None]]
_MISSING = object()
# The last_used_at write is bookkeeping: it may delay a request at most this long.
_TOUCH_TIMEOUT_S = 2.0

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    bearerFormat="voc_<id>_<secret>",
    description="An API key from `voc api-key create`, sent as `Authorization: Bearer <key>`. "
    "Scopes: `scores:read` (scores, compare, touchpoints), `feedback:read` (verbatims), "
    "`admin` (every scope). Each operation lists the scope it needs. Off when the server runs "
    "with `API_AUTH__ENABLED=false`.",
)


def _challenge(detail: str) -> dict[str, Any]:
    return {"description": detail, "schema": {"type": "string"}}


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorBody,
        "description": "No API key, or one that is malformed, unknown or revoked "
        "(`unauthorized`). Send `Authorization: Bearer <key>`.",
        "headers": {"WWW-Authenticate": _challenge('`Bearer`, or `Bearer error="invalid_token"`')},
    },
    403: {
        "model": ErrorBody,
        "description": "The key lacks this operation's scope (`forbidden`; the detail names it).",
        "headers": {
            "WWW-Authenticate": _challenge('`Bearer error="insufficient_scope", scope="<scope>"`')
        },
    },
}


class AuthMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.rejections = Counter(
            "voc_api_auth_rejections_total",
            "Requests refused by API-key auth (missing, invalid, revoked, insufficient_scope).",
            ["reason"],
            registry=registry,
        )
        self.lookups = Counter(
            "voc_api_auth_key_lookups_total",
            "API-key lookups, answered from the cache or the database.",
            ["source"],
            registry=registry,
        )
        self.last_used_writes = Counter(
            "voc_api_auth_last_used_writes_total",
            "last_used_at writes (written, recent: another replica just wrote it, failed).",
            ["outcome"],
            registry=registry,
        )


class KeyCache:
    """Lookups by key id, found or not, for `ttl_s`; at most `max_keys`, oldest dropped first.

    Unknown ids are cached too, so a flood of made-up keys costs one query per id; a new key's
    id is random and has never been looked up, so that never hides a freshly created key."""

    def __init__(
        self, ttl_s: float, max_keys: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl_s = ttl_s
        self._max_keys = max_keys
        self._clock = clock
        self._entries: dict[str, tuple[float, ApiKey | None]] = {}

    def get(self, key_id: str) -> ApiKey | object | None:
        """The cached key or None (known not to exist), or _MISSING when it must be looked up."""
        entry = self._entries.get(key_id)
        if entry is None or self._clock() - entry[0] >= self._ttl_s:
            return _MISSING
        return entry[1]

    def put(self, key_id: str, key: ApiKey | None) -> None:
        if self._ttl_s <= 0:
            return
        self._entries.pop(key_id, None)
        if len(self._entries) >= self._max_keys:
            now = self._clock()
            self._entries = {k: e for k, e in self._entries.items() if now - e[0] < self._ttl_s}
            while len(self._entries) >= self._max_keys:
                del self._entries[next(iter(self._entries))]
        self._entries[key_id] = (self._clock(), key)


def _unauthorized(detail: str, challenge: str = "Bearer") -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": challenge})


class Authenticator:
    def __init__(
        self,
        settings: AuthSettings,
        lookup: Lookup,
        touch: Touch | None,
        metrics: AuthMetrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = settings.enabled
        self._settings = settings
        self._lookup = lookup
        self._touch = touch if settings.track_last_used else None
        self._metrics = metrics
        self._clock = clock
        self._cache = KeyCache(settings.cache_ttl_s, settings.cache_max_keys, clock)
        self._touched: dict[str, float] = {}

    async def check(self, token: str | None, scopes: Sequence[str]) -> ApiKey | None:
        """The key behind `token` if it is valid and grants every scope; None when auth is off.
        Raises 401 (no, bad or revoked key) or 403 (a scope is missing)."""
        if not self.enabled:
            return None
        if not token:
            raise self._reject("missing", None, _unauthorized(
                "missing API key: send `Authorization: Bearer <key>`"
            ))  # fmt: skip
        parsed = keys.parse(token)
        key = None if parsed is None else await self._get(parsed[0])
        # Unknown id and wrong secret read the same, so a caller can't probe which ids exist.
        if parsed is None or key is None or not key.matches(parsed[1]):
            invalid = _unauthorized("invalid API key", 'Bearer error="invalid_token"')
            raise self._reject("invalid", None if parsed is None else parsed[0], invalid)
        if key.revoked:
            revoked = _unauthorized("API key revoked", 'Bearer error="invalid_token"')
            raise self._reject("revoked", key.id, revoked)
        for scope in scopes:
            if not key.grants(scope):
                challenge = f'Bearer error="insufficient_scope", scope="{scope}"'
                forbidden = HTTPException(
                    403,
                    f"this API key lacks the scope `{scope}`",
                    headers={"WWW-Authenticate": challenge},
                )
                raise self._reject("insufficient_scope", key.id, forbidden)
        await self._note_use(key.id)
        return key

    def _reject(self, reason: str, key_id: str | None, exc: HTTPException) -> HTTPException:
        self._metrics.rejections.labels(reason).inc()
        log.info("api.auth_rejected", reason=reason, key_id=key_id)
        return exc

    async def _get(self, key_id: str) -> ApiKey | None:
        cached = self._cache.get(key_id)
        if cached is not _MISSING:
            self._metrics.lookups.labels("cache").inc()
            return cached  # type: ignore[return-value]
        self._metrics.lookups.labels("database").inc()
        key = await self._lookup(key_id)
        self._cache.put(key_id, key)
        return key

    async def _note_use(self, key_id: str) -> None:
        if self._touch is None:
            return
        now = self._clock()
        last = self._touched.get(key_id)
        if last is not None and now - last < self._settings.last_used_interval_s:
            return
        if len(self._touched) >= self._settings.cache_max_keys:
            self._touched.clear()
        # Noted before the write, so a failing write is retried a minute later, not per request.
        self._touched[key_id] = now
        await self._touch(key_id)


def create_authenticator(
    settings: AuthSettings,
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    timeout_s: float,
    registry: CollectorRegistry,
) -> Authenticator:
    """Lookups through the api's read-only sessions; last_used_at through `engine`, one short
    read-write transaction per key and minute, which never fails the request."""
    metrics = AuthMetrics(registry)

    async def lookup(key_id: str) -> ApiKey | None:
        try:
            async with asyncio.timeout(timeout_s), sessionmaker() as session:
                return await KeyRepository(session).get(key_id)
        except (OSError, DBAPIError) as exc:
            if not is_unavailable(exc):
                raise
            log.warning("api.database_unavailable", error=type(exc).__name__)
            raise DatabaseUnavailable("the database is unavailable; retry later") from exc

    async def touch(key_id: str) -> None:
        try:
            async with asyncio.timeout(_TOUCH_TIMEOUT_S), engine.begin() as conn:
                written = await touch_last_used(conn, key_id, settings.last_used_interval_s)
        except (OSError, DBAPIError) as exc:
            metrics.last_used_writes.labels("failed").inc()
            log.warning("api.auth_last_used_failed", key_id=key_id, error=type(exc).__name__)
            return
        metrics.last_used_writes.labels("written" if written else "recent").inc()

    return Authenticator(settings, lookup, touch, metrics)


async def authenticate(
    request: Request,
    security_scopes: SecurityScopes,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiKey | None:
    authenticator: Authenticator = request.app.state.authenticator
    token = credentials.credentials if credentials is not None else None
    return await authenticator.check(token, security_scopes.scopes)


def requires(scope: str) -> Any:
    """A route dependency: the request's API key must grant `scope` (documented in OpenAPI)."""
    return Security(authenticate, scopes=[scope])
