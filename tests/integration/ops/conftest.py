"""The whole stack as `make run` starts it, and a real Prometheus scraping it with our rules.

The stack starts as in tests/e2e (python -m shared.stack on free ports, its own VOC_HOME);
Prometheus is Debian's binary (the `prometheus` apt package) with a generated config.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml

from shared.embedded import die_with_parent, free_port
from tests.integration.ops.processes import (
    REPO,
    SERVICES,
    RunningPrometheus,
    RunningStack,
    answers,
    prometheus_config,
    stop,
    wait_until,
)


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    home = tmp_path_factory.mktemp("voc-ops-home")
    ports = {name: free_port() for name in (*SERVICES, "broker", "pg")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOC_")}
    env.update({f"VOC_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    env["VOC_HOME"] = str(home)
    env["VOC_PG_FSYNC_OFF"] = "1"
    # Shared with the rest of the suite so the model is built only once.
    env["CLASSIFIER_NLP__CACHE_DIR"] = str(REPO / ".voc" / "cache")
    out = home / "stack.out"
    with open(out, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shared.stack"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    try:
        wait_until("stack", lambda: "ready;" in out.read_text(errors="replace"), proc, out, 300)
        yield RunningStack(proc, ports, home)
    finally:
        stop(proc, 90)


@pytest.fixture(scope="package")
def prometheus(
    stack: RunningStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningPrometheus]:
    exe = shutil.which("prometheus")
    if exe is None:
        pytest.fail(
            "prometheus not found: install Debian's prometheus package "
            "(apt-get install -y --no-install-recommends prometheus)"
        )
    home = tmp_path_factory.mktemp("prometheus")
    (home / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config(stack)))
    url = f"http://127.0.0.1:{free_port()}"
    out = home / "prometheus.out"
    with open(out, "wb") as log:
        proc = subprocess.Popen(
            [
                exe,
                f"--config.file={home / 'prometheus.yml'}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address={url.removeprefix('http://')}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    try:
        wait_until("prometheus", lambda: answers(f"{url}/-/ready"), proc, out, 60)
        yield RunningPrometheus(proc, url)
    finally:
        stop(proc, 30)
