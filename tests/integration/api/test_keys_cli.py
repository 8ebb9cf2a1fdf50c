"""`voc api-key create|list|revoke` against the real PostgreSQL, and the keys it makes working
(or refused) at the api."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api import keys_cli
from services.api.settings import AuthSettings
from shared.embedded import free_port
from shared.tables import api_keys
from tests.integration.api.conftest import open_client

REPO = Path(__file__).resolve().parents[3]


async def cli(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    """Run `voc api-key --url URL ARGS` in-process (in a thread: it runs its own event loop)."""
    capsys.readouterr()
    code = await asyncio.to_thread(keys_cli.main, ["--url", url, *args])
    out, err = capsys.readouterr()
    return code, out, err


async def rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(select(api_keys).order_by(api_keys.c.created_at))
        return [dict(r) for r in result.mappings()]


@pytest.fixture(scope="module")
async def api(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in open_client(database_url, auth=AuthSettings(cache_ttl_s=0)):
        yield c


class TestApiKeyCli:
    async def test_create_prints_a_working_key_once_and_stores_only_its_hash(
        self,
        capsys: pytest.CaptureFixture[str],
        database_url: str,
        writer: AsyncEngine,
        api: httpx.AsyncClient,
    ) -> None:
        code, out, err = await cli(
            capsys, database_url, "create", "--name", "looker", "--scopes", "scores:read"
        )
        assert code == 0, err
        key = out.strip()
        _, key_id, secret = key.split("_", 2)
        assert "not shown again" in err and key_id in err and secret not in err
        [row] = [r for r in await rows(writer) if r["id"] == key_id]
        assert (row["name"], row["scopes"]) == ("looker", ["scores:read"])
        assert bytes(row["secret_sha256"]) == hashlib.sha256(secret.encode()).digest()
        assert secret not in repr(row)
        auth = {"Authorization": f"Bearer {key}"}
        assert (await api.get("/v1/touchpoints", headers=auth)).status_code == 200
        assert (await api.get("/v1/feedback", headers=auth)).status_code == 403

    async def test_list_shows_every_key_with_its_scopes_and_never_a_secret(
        self, capsys: pytest.CaptureFixture[str], database_url: str
    ) -> None:
        _, key, _ = await cli(
            capsys, database_url, "create", "--name", "analyst", "--scopes",
            "feedback:read,scores:read,feedback:read",
        )  # fmt: skip
        key_id, secret = key.strip().split("_", 2)[1:]
        code, out, _ = await cli(capsys, database_url, "list")
        assert code == 0
        [line] = [line for line in out.splitlines() if line.startswith(key_id)]
        assert line.split()[1:3] == ["analyst", "scores:read,feedback:read"]
        assert secret not in out
        code, out, _ = await cli(capsys, database_url, "list", "--json")
        [listed] = [k for k in json.loads(out) if k["id"] == key_id]
        assert listed["scopes"] == ["scores:read", "feedback:read"]
        assert listed["revoked_at"] is None and listed["last_used_at"] is None
        assert "secret_sha256" not in listed

    async def test_revoke_refuses_the_key_at_the_api_and_is_idempotent(
        self, capsys: pytest.CaptureFixture[str], database_url: str, api: httpx.AsyncClient
    ) -> None:
        _, key, _ = await cli(capsys, database_url, "create", "--name", "ci", "--scopes", "admin")
        key_id = key.strip().split("_")[1]
        auth = {"Authorization": f"Bearer {key.strip()}"}
        assert (await api.get("/v1/feedback", headers=auth)).status_code == 200
        code, out, _ = await cli(capsys, database_url, "revoke", key_id)
        assert code == 0 and f"revoked key {key_id}" in out
        assert (await api.get("/v1/feedback", headers=auth)).status_code == 401
        again, out_again, _ = await cli(capsys, database_url, "revoke", key_id)
        assert again == 0 and out_again == out

    async def test_revoking_an_unknown_id_exits_1(
        self, capsys: pytest.CaptureFixture[str], database_url: str
    ) -> None:
        code, _, err = await cli(capsys, database_url, "revoke", "0123456789abcdef")
        assert code == 1 and "no API key with id 0123456789abcdef" in err

    @pytest.mark.parametrize(
        ("scopes", "message"),
        [("scores:write", "unknown scope scores:write"), (" , ", "at least one scope")],
    )
    async def test_bad_scopes_exit_2_and_create_nothing(
        self,
        capsys: pytest.CaptureFixture[str],
        database_url: str,
        writer: AsyncEngine,
        scopes: str,
        message: str,
    ) -> None:
        before = await rows(writer)
        code, out, err = await cli(
            capsys, database_url, "create", "--name", "x", "--scopes", scopes
        )
        assert (code, out) == (2, "")
        assert message in err
        assert await rows(writer) == before

    async def test_an_unreachable_database_exits_2_with_where_it_looked(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        port = free_port()
        code, _, err = await cli(capsys, f"postgresql://postgres@127.0.0.1:{port}/voc", "list")
        assert code == 2 and f"127.0.0.1:{port}" in err

    async def test_runs_as_a_module_with_the_url_from_api_database_url(
        self, database_url: str, writer: AsyncEngine
    ) -> None:
        env = {**os.environ, "API_DATABASE__URL": database_url, "PYTHONPATH": str(REPO)}
        env.pop("VOC_DATABASE_URL", None)
        command = [sys.executable, "-m", "services.api.keys_cli", "create", "--name", "module",
                   "--scopes", "scores:read"]  # fmt: skip
        proc = await asyncio.to_thread(
            subprocess.run, command, env=env, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        key_id = proc.stdout.strip().split("_")[1]
        assert key_id in {r["id"] for r in await rows(writer)}
