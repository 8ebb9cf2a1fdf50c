"""`voc import` as a user runs it: a process against a tickets service listening on a port."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest

from shared.embedded import free_port
from shared.settings import KafkaSettings
from tests.helpers import eventually
from tests.integration.importer.conftest import FIXTURES

ROOT = Path(__file__).parents[3]


async def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, bytes, bytes]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.cli",
        "import",
        *args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out, err


async def _ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"{url}/readyz")).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
async def tickets_url(import_kafka: KafkaSettings) -> AsyncIterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "TICKETS_HTTP__PORT": str(port),
        "TICKETS_KAFKA__BOOTSTRAP_SERVERS": import_kafka.bootstrap_servers,
        "VOC_ENV": "test",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.tickets",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await eventually(lambda: _ready(url), timeout_s=60)
        yield url
    finally:
        proc.terminate()
        await proc.wait()


class TestCli:
    async def test_partial_import_exits_1_with_a_json_summary_and_a_rejects_file(
        self, tickets_url: str, tmp_path: Path
    ) -> None:
        rejects = tmp_path / "rejects.jsonl"
        code, out, _ = await _run(
            "--kind", "tickets", "--format", "jsonl", str(FIXTURES / "tickets.jsonl"),
            "--url", tickets_url, "--json", "--rejects", str(rejects),
        )  # fmt: skip

        assert code == 1
        summary = orjson.loads(out)
        assert (summary["read"], summary["accepted"], summary["exit_code"]) == (6, 3, 1)
        assert [r["line"] for r in summary["rejected"]] == [3, 7]
        rows = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
        assert [r["line"] for r in rows] == [3, 7]
        assert rows[0]["item"]["source_id"] == "jl-5003"  # what to fix and send again

    async def test_clean_vendor_import_prints_the_summary_and_exits_0(
        self, tickets_url: str
    ) -> None:
        code, out, _ = await _run(
            "--format", "zendesk", str(FIXTURES / "zendesk_tickets.json"), "--url", tickets_url
        )

        assert code == 0
        text = out.decode()
        assert "accepted    3" in text and "rejected    0" in text

    async def test_unreachable_service_exits_2_at_once(self) -> None:
        code, out, _ = await _run(
            "--format", "zendesk", str(FIXTURES / "zendesk_ticket.json"),
            "--url", f"http://127.0.0.1:{free_port()}",
        )  # fmt: skip

        assert code == 2
        assert "no ingestion service answers at" in out.decode()
