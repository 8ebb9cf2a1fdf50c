"""All SQL on api_keys. The caller owns the transaction (the CLI commits; the api reads)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.api.keys import ApiKey, NewKey
from shared.tables import api_keys

_COLUMNS = (
    api_keys.c.id,
    api_keys.c.name,
    api_keys.c.secret_sha256,
    api_keys.c.scopes,
    api_keys.c.created_at,
    api_keys.c.revoked_at,
    api_keys.c.last_used_at,
)


def _key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        secret_sha256=bytes(row.secret_sha256),
        scopes=frozenset(row.scopes),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


class KeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key_id: str) -> ApiKey | None:
        result = await self._session.execute(select(*_COLUMNS).where(api_keys.c.id == key_id))
        row = result.first()
        return None if row is None else _key(row)

    async def create(self, new: NewKey, name: str, scopes: Sequence[str]) -> ApiKey:
        stmt = (
            insert(api_keys)
            .values(id=new.id, secret_sha256=new.secret_sha256, name=name, scopes=list(scopes))
            .returning(*_COLUMNS)
        )
        return _key((await self._session.execute(stmt)).one())

    async def list(self) -> list[ApiKey]:
        result = await self._session.execute(
            select(*_COLUMNS).order_by(api_keys.c.created_at, api_keys.c.id)
        )
        return [_key(row) for row in result]

    async def revoke(self, key_id: str) -> ApiKey | None:
        """Revoke the key (a no-op when it already is); None when there is no such key."""
        await self._session.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )
        return await self.get(key_id)


async def touch_last_used(conn: AsyncConnection, key_id: str, interval_s: float) -> bool:
    """Set last_used_at to now unless it was set less than `interval_s` ago, which keeps several
    api replicas to about one write a minute per key. Runs in its own short transaction."""
    # The api's role may default to read-only transactions (docker-compose's voc_reader); this
    # one write is explicitly read-write, and that role may update only this column.
    await conn.execute(text("SET TRANSACTION READ WRITE"))
    result = await conn.execute(
        update(api_keys)
        .where(
            api_keys.c.id == key_id,
            or_(
                api_keys.c.last_used_at.is_(None),
                api_keys.c.last_used_at < func.now() - timedelta(seconds=interval_s),
            ),
        )
        .values(last_used_at=func.now())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
