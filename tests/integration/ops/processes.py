"""The processes the ops tests run: the whole stack and a Prometheus scraping it."""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.stack import SERVICES, RunningStack

REPO = Path(__file__).resolve().parents[3]
RULE_FILES = sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml"))


@dataclass
class RunningPrometheus:
    proc: subprocess.Popen[bytes]
    url: str


def prometheus_config(stack: RunningStack) -> dict[str, Any]:
    """Our rules, and one job per service named as in deploy/prometheus/prometheus.yml (the
    dashboards and rules group by job). 1 s intervals so a test waits seconds, not minutes."""
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in RULE_FILES],
        "scrape_configs": [
            {"job_name": name, "static_configs": [{"targets": [f"127.0.0.1:{stack.ports[name]}"]}]}
            for name in SERVICES
        ],
    }


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def wait_until(
    what: str,
    ready: Callable[[], bool],
    proc: subprocess.Popen[bytes],
    log: Path,
    timeout_s: float,
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-4000:]
            raise AssertionError(f"{what} exited with {proc.returncode}:\n{tail}")
        time.sleep(0.5)
    raise AssertionError(f"{what} not ready in {timeout_s}s:\n{log.read_text()[-4000:]}")


def stop(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
