"""`shared.serve` in a real process: how it stops, and the exit status it ends with."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from shared.embedded import free_port
from tests.helpers import eventually

ROOT = Path(__file__).resolve().parents[3]

# A service in miniature: `fail` makes its background work die soon after startup.
APP = """
import asyncio, sys
from contextlib import asynccontextmanager
from fastapi import FastAPI
from shared.serve import serve
from shared.settings import HttpSettings

mode, port = sys.argv[1], int(sys.argv[2])
state = {"failed": False}

@asynccontextmanager
async def lifespan(app):
    if mode == "broken":
        raise RuntimeError("startup failed")
    if mode == "fail":
        asyncio.get_running_loop().call_later(0.3, state.update, {"failed": True})
    print("app.started", flush=True)
    yield
    print("app.stopped", flush=True)

app = FastAPI(lifespan=lifespan)
app.get("/healthz")(lambda: {"status": "ok"})
sys.exit(serve(app, HttpSettings(port=port), failed=lambda: state["failed"]))
"""


async def run(mode: str, port: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", APP, mode, str(port), cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


async def finish(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


class TestServe:
    async def test_background_failure_stops_gracefully_and_exits_1(self) -> None:
        code, output = await finish(await run("fail", free_port()))
        assert code == 1, output[-2000:]
        assert output.index("app.started") < output.index("app.stopped")

    async def test_sigterm_stops_gracefully_and_ends_by_the_signal(self) -> None:
        port = free_port()
        proc = await run("ok", port)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def health() -> int:
                if proc.returncode is not None:
                    return -1
                try:
                    return (await client.get("/healthz")).status_code
                except httpx.TransportError:
                    return 0

            served = await eventually(health, lambda s: s != 0, timeout_s=30)
        proc.send_signal(signal.SIGTERM)
        code, output = await finish(proc)
        assert served == 200, output[-2000:]
        assert code == -signal.SIGTERM, output[-2000:]
        assert "app.stopped" in output

    async def test_failing_startup_exits_non_zero_without_serving(self) -> None:
        code, output = await finish(await run("broken", free_port()))
        assert code == 3, output[-2000:]
        assert "app.started" not in output
