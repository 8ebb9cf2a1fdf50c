"""The whole stack as a user starts it (`python -m shared.stack`, what `make run` runs), on free
ports and a VOC_HOME of its own, for the e2e and ops tests that drive it over HTTP.

Each e2e module starts one (module-scoped fixture) with its own environment on top (webhook
secrets, survey mappings, vendor API URLs).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shared.embedded import die_with_parent, free_port

REPO = Path(__file__).resolve().parents[1]
SERVICES = ("api", "surveys", "tickets", "reviews", "social", "classifier", "metrics")


@dataclass
class RunningStack:
    proc: subprocess.Popen[bytes]
    ports: dict[str, int]
    home: Path

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports['broker']}"

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports['pg']}/voc"

    def output(self) -> str:
        out = self.home / "stack.out"
        return out.read_text(errors="replace") if out.exists() else ""

    def log(self, service: str) -> str:
        path = self.home / "logs" / f"{service}.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def running_stack(
    home: Path, env: Mapping[str, str], *, ready_timeout_s: float = 300.0
) -> Iterator[RunningStack]:
    """Start the stack with `env` added to a clean copy of ours; SIGTERM it on the way out."""
    ports = {name: free_port() for name in (*SERVICES, "broker", "pg")}
    # Nothing of the developer's own VOC_* settings (ports, external broker, secrets) leaks in.
    full = {k: v for k, v in os.environ.items() if not k.startswith("VOC_")}
    full.update({f"VOC_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    full["VOC_HOME"] = str(home)
    full["VOC_PG_FSYNC_OFF"] = "1"
    # The model cache is shared with the rest of the suite so the model is built only once.
    full["CLASSIFIER_NLP__CACHE_DIR"] = str(REPO / ".voc" / "cache")
    full.update(env)
    with open(home / "stack.out", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shared.stack"],
            cwd=REPO,
            env=full,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        stack = RunningStack(proc, ports, home)
        try:
            _wait_ready(stack, ready_timeout_s)
            yield stack
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(90)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


def _wait_ready(stack: RunningStack, timeout_s: float) -> None:
    # The supervisor prints "ready;" once every service answers /healthz.
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = stack.output()
        if "ready;" in text:
            return
        if stack.proc.poll() is not None:
            raise AssertionError(f"stack exited with {stack.proc.returncode}:\n{text[-4000:]}")
        time.sleep(0.5)
    raise AssertionError(f"stack not ready in {timeout_s}s:\n{stack.output()[-4000:]}")


def create_api_key(stack: RunningStack, name: str = "tests") -> str:
    """A key that reads everything, made as a user would (`voc api-key create` runs this module)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOC_", "API_"))}
    env["API_DATABASE__URL"] = stack.database_url
    command = [sys.executable, "-m", "services.api.keys_cli", "create", "--name", name,
               "--scopes", "scores:read,feedback:read"]  # fmt: skip
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()
