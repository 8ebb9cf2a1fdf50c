"""The key check, its lookup cache and last-use throttle (services.api.auth), on a fake clock
and an in-memory key table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from fastapi import HTTPException
from prometheus_client import CollectorRegistry

from services.api import keys
from services.api.auth import _MISSING, Authenticator, AuthMetrics, KeyCache
from services.api.keys import FEEDBACK_READ, SCORES_READ, ApiKey
from services.api.settings import AuthSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Table:
    """The api_keys rows the authenticator sees, counting lookups and last-use writes."""

    def __init__(self) -> None:
        self.rows: dict[str, ApiKey] = {}
        self.lookups = 0
        self.touches: list[str] = []

    def add(self, *scopes: str) -> str:
        new = keys.generate()
        self.rows[new.id] = ApiKey(
            new.id, "t", new.secret_sha256, frozenset(scopes), datetime.now(UTC)
        )
        return new.key

    def revoke(self, key: str) -> None:
        key_id = key.split("_")[1]
        self.rows[key_id] = replace(self.rows[key_id], revoked_at=datetime.now(UTC))

    async def lookup(self, key_id: str) -> ApiKey | None:
        self.lookups += 1
        return self.rows.get(key_id)

    async def touch(self, key_id: str) -> None:
        self.touches.append(key_id)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def table() -> Table:
    return Table()


def authenticator(table: Table, clock: Clock, **settings: object) -> Authenticator:
    metrics = AuthMetrics(CollectorRegistry())
    return Authenticator(AuthSettings(**settings), table.lookup, table.touch, metrics, clock)  # type: ignore[arg-type]


async def refusal(auth: Authenticator, token: str | None, scope: str = SCORES_READ) -> int:
    with pytest.raises(HTTPException) as caught:
        await auth.check(token, [scope])
    return caught.value.status_code


class TestKeyCache:
    def test_an_entry_lives_for_the_ttl_then_must_be_looked_up_again(self, clock: Clock) -> None:
        cache = KeyCache(30, 10, clock)
        cache.put("a", None)
        clock.now += 29.9
        assert cache.get("a") is None
        clock.now += 0.1
        assert cache.get("a") is _MISSING

    def test_a_full_cache_drops_its_oldest_entry(self, clock: Clock) -> None:
        cache = KeyCache(30, 2, clock)
        cache.put("a", None)
        cache.put("b", None)
        cache.put("c", None)
        assert (cache.get("a"), cache.get("b"), cache.get("c")) == (_MISSING, None, None)

    def test_a_zero_ttl_caches_nothing(self, clock: Clock) -> None:
        cache = KeyCache(0, 2, clock)
        cache.put("a", None)
        assert cache.get("a") is _MISSING


class TestAuthenticator:
    async def test_a_valid_key_with_the_scope_is_returned(self, table: Table, clock: Clock) -> None:
        key = table.add(SCORES_READ)
        found = await authenticator(table, clock).check(key, [SCORES_READ])
        assert found is not None and found.id == key.split("_")[1]

    async def test_no_bad_or_unknown_key_is_401(self, table: Table, clock: Clock) -> None:
        auth = authenticator(table, clock)
        assert await refusal(auth, None) == 401
        assert await refusal(auth, "garbage") == 401
        assert await refusal(auth, keys.generate().key) == 401

    async def test_a_missing_scope_is_403(self, table: Table, clock: Clock) -> None:
        key = table.add(SCORES_READ)
        assert await refusal(authenticator(table, clock), key, FEEDBACK_READ) == 403

    async def test_repeated_requests_within_the_ttl_look_the_key_up_once(
        self, table: Table, clock: Clock
    ) -> None:
        key = table.add(SCORES_READ)
        auth = authenticator(table, clock)
        for _ in range(5):
            await auth.check(key, [SCORES_READ])
        assert table.lookups == 1

    async def test_a_revoke_takes_effect_when_the_cached_lookup_expires(
        self, table: Table, clock: Clock
    ) -> None:
        key = table.add(SCORES_READ)
        auth = authenticator(table, clock, cache_ttl_s=30)
        await auth.check(key, [SCORES_READ])
        table.revoke(key)
        clock.now += 29
        assert await auth.check(key, [SCORES_READ]) is not None  # still cached: documented
        clock.now += 1
        assert await refusal(auth, key) == 401

    async def test_last_use_is_written_at_most_once_per_interval(
        self, table: Table, clock: Clock
    ) -> None:
        key = table.add(SCORES_READ)
        auth = authenticator(table, clock, last_used_interval_s=60)
        await auth.check(key, [SCORES_READ])
        clock.now += 59
        await auth.check(key, [SCORES_READ])
        clock.now += 1
        await auth.check(key, [SCORES_READ])
        assert table.touches == [key.split("_")[1]] * 2

    async def test_a_refused_request_writes_no_last_use(self, table: Table, clock: Clock) -> None:
        key = table.add(SCORES_READ)
        await refusal(authenticator(table, clock), key, FEEDBACK_READ)
        assert table.touches == []

    async def test_last_use_tracking_can_be_switched_off(self, table: Table, clock: Clock) -> None:
        key = table.add(SCORES_READ)
        await authenticator(table, clock, track_last_used=False).check(key, [SCORES_READ])
        assert table.touches == []

    async def test_disabled_auth_lets_every_request_through_without_a_lookup(
        self, table: Table, clock: Clock
    ) -> None:
        auth = authenticator(table, clock, enabled=False)
        assert await auth.check(None, [FEEDBACK_READ]) is None
        assert table.lookups == 0
