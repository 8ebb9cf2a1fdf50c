"""The whole stack as `make run` starts it, and a real Prometheus scraping it with our rules.

The stack starts as in tests/e2e (python -m shared.stack on free ports, its own VOC_HOME);
Prometheus is Debian's binary (the `prometheus` apt package) with a generated config.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest
import yaml

from shared.embedded import die_with_parent, free_port
from tests.integration.ops.alert_traffic import alert_env
from tests.integration.ops.processes import (
    RunningPrometheus,
    answers,
    prometheus_config,
    stop,
    wait_until,
)
from tests.integration.ops.traffic import STACK_ENV
from tests.stack import RunningStack, running_stack


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    # Nothing listens on this port: the alert webhook is refused.
    env = {**STACK_ENV, **alert_env(free_port())}
    with running_stack(tmp_path_factory.mktemp("voc-ops-home"), env) as running:
        yield running


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
