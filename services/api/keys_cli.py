"""`voc api-key create|list|revoke` (also `python -m services.api.keys_cli`): manage BI API keys.

Writes to the database at `--url`, else `API_DATABASE__URL`, else `VOC_DATABASE_URL` (a role
that may write api_keys, not the api's read-only one). `create` prints the new key alone on
stdout, once, so `KEY=$(voc api-key create ...)` works; only its hash is stored.
Exit codes: 0 done, 1 no such key, 2 usage error or database unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from services.api import keys
from services.api.keys import ApiKey, InvalidScopes
from services.api.keys_repository import KeyRepository
from services.api.settings import ApiSettings
from shared.db import create_engine, create_sessionmaker
from shared.settings import DatabaseSettings

T = TypeVar("T")


class CliError(Exception):
    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat(timespec="seconds")


def describe(key: ApiKey) -> dict[str, Any]:
    """A key as `list --json` shows it: everything but the hash."""
    return {
        "id": key.id,
        "name": key.name,
        "scopes": [s for s in keys.SCOPES if s in key.scopes],
        "created_at": _iso(key.created_at),
        "last_used_at": _iso(key.last_used_at),
        "revoked_at": _iso(key.revoked_at),
    }


def _cell(value: Any) -> str:
    return ",".join(value) if isinstance(value, list) else (value or "-")


def _table(rows: list[dict[str, Any]]) -> str:
    columns = ["id", "name", "scopes", "created_at", "last_used_at", "revoked_at"]
    lines = [columns, *([_cell(row[c]) for c in columns] for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


async def _in_transaction(url: str, work: Callable[[KeyRepository], Awaitable[T]]) -> T:
    engine = create_engine(DatabaseSettings(url=url, pool_size=1))
    try:
        session: AsyncSession
        async with create_sessionmaker(engine)() as session, session.begin():
            return await work(KeyRepository(session))
    except ProgrammingError as exc:
        if "api_keys" in str(exc.orig):
            raise CliError("the database has no api_keys table: run `voc migrate` first") from exc
        raise
    except (OSError, DBAPIError) as exc:
        host = engine.url.host or "?"
        raise CliError(f"cannot use the database at {host}:{engine.url.port}: {exc}") from exc
    finally:
        await engine.dispose()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voc api-key", description="Manage BI API keys.")
    parser.add_argument(
        "--url", help="Database URL (default: API_DATABASE__URL, then VOC_DATABASE_URL)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a key and print it (shown only this once)")
    create.add_argument("--name", required=True, help="who or what uses the key")
    create.add_argument(
        "--scopes", required=True, help=f"comma-separated, of: {', '.join(keys.SCOPES)}"
    )
    listing = sub.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    revoke = sub.add_parser("revoke", help="revoke a key by id (the api honours it within 30 s)")
    revoke.add_argument("id", help="the key's id, as `list` shows it")
    return parser


async def _create(url: str, name: str, scopes: list[str]) -> int:
    new = keys.generate()
    stored = await _in_transaction(url, lambda repo: repo.create(new, name, scopes))
    print(new.key)
    print(
        f"created key {stored.id} ({stored.name}) with scopes {','.join(scopes)}; "
        "store it now: it is not shown again",
        file=sys.stderr,
    )
    return 0


async def _list(url: str, as_json: bool) -> int:
    rows = [describe(k) for k in await _in_transaction(url, lambda repo: repo.list())]
    print(json.dumps(rows, indent=2) if as_json else _table(rows))
    return 0


async def _revoke(url: str, key_id: str) -> int:
    key = await _in_transaction(url, lambda repo: repo.revoke(key_id))
    if key is None:
        raise CliError(f"no API key with id {key_id}", code=1)
    print(f"revoked key {key.id} ({key.name}) at {_iso(key.revoked_at)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    url = args.url or ApiSettings().database.url
    try:
        if args.command == "create":
            name = args.name.strip()
            if not name:
                raise CliError("--name must not be empty")
            try:
                scopes = keys.parse_scopes(args.scopes)
            except InvalidScopes as exc:
                raise CliError(str(exc)) from exc
            return asyncio.run(_create(url, name, scopes))
        if args.command == "list":
            return asyncio.run(_list(url, args.json))
        return asyncio.run(_revoke(url, args.id))
    except CliError as exc:
        print(f"voc api-key: {exc}", file=sys.stderr)
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
