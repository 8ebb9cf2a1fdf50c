"""`make run`: the whole pipeline on one machine, as separate processes.

Starts the embedded broker and PostgreSQL (unless VOC_KAFKA_BOOTSTRAP / VOC_DATABASE_URL point
at external ones), creates the topics, runs the migrations, starts the seven services, and on
Ctrl-C / SIGTERM stops them in dependency order: ingestion first (no new input), then the
consumers (finish and commit their batch), then the API, then the infrastructure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from shared.embedded import EmbeddedBroker, EmbeddedPostgres, die_with_parent
from shared.kafka import ensure_topics
from shared.settings import KafkaSettings


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    env_prefix: str
    default_port: int
    kind: str  # what the port serves: the HTTP API, or a side port for health and metrics

    @property
    def port(self) -> int:
        return int(os.environ.get(f"VOC_{self.name.upper()}_PORT", self.default_port))


# Start order; shutdown runs in SHUTDOWN_ORDER.
SERVICES = (
    ServiceSpec("metrics", "METRICS", 9102, "health+metrics"),
    ServiceSpec("classifier", "CLASSIFIER", 9101, "health+metrics"),
    ServiceSpec("api", "API", 8000, "BI API"),
    ServiceSpec("surveys", "SURVEYS", 8001, "POST /v1/responses"),
    ServiceSpec("tickets", "TICKETS", 8002, "POST /v1/tickets"),
    ServiceSpec("reviews", "REVIEWS", 8003, "POST /v1/reviews"),
    ServiceSpec("social", "SOCIAL", 8004, "POST /v1/posts"),
)
SHUTDOWN_ORDER = ("surveys", "tickets", "reviews", "social", "classifier", "metrics", "api")


def say(msg: str) -> None:
    print(f"[voc] {msg}", flush=True)


class Stack:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.logs = home / "logs"
        self.broker: EmbeddedBroker | None = None
        self.postgres: EmbeddedPostgres | None = None
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def start_infra(self) -> tuple[str, str]:
        self.logs.mkdir(parents=True, exist_ok=True)
        bootstrap = os.environ.get("VOC_KAFKA_BOOTSTRAP")
        if not bootstrap:
            port = int(os.environ.get("VOC_BROKER_PORT", 9092))
            self.broker = EmbeddedBroker(port, log_file=self.logs / "broker.log").start()
            bootstrap = self.broker.bootstrap
            say(f"broker      embedded Tansu on {bootstrap} (memory storage)")
        else:
            say(f"broker      external Kafka at {bootstrap}")
        db_url = os.environ.get("VOC_DATABASE_URL")
        if not db_url:
            port = int(os.environ.get("VOC_PG_PORT", 55432))
            self.postgres = EmbeddedPostgres(self.home / "pgdata", port).start()
            db_url = self.postgres.uri()
            say(f"postgres    embedded PostgreSQL on {db_url} (data in {self.home / 'pgdata'})")
        else:
            say("postgres    external database from VOC_DATABASE_URL")
        return bootstrap, db_url

    def prepare(self, bootstrap: str, db_url: str) -> None:
        created = asyncio.run(ensure_topics(KafkaSettings(bootstrap_servers=bootstrap)))
        say(f"topics      {'created ' + ', '.join(created) if created else 'already exist'}")
        subprocess.run(
            [sys.executable, "-m", "services.metrics.migrate", "--url", db_url], check=True
        )
        say("migrations  applied")

    def start_services(self, bootstrap: str, db_url: str) -> None:
        for spec in SERVICES:
            env = {
                **os.environ,
                "VOC_KAFKA_BOOTSTRAP": bootstrap,
                "VOC_DATABASE_URL": db_url,
                f"{spec.env_prefix}_HTTP__PORT": str(spec.port),
            }
            env.setdefault("CLASSIFIER_NLP__CACHE_DIR", str(self.home / "cache"))
            log_file = open(self.logs / f"{spec.name}.log", "ab")  # noqa: SIM115
            self.procs[spec.name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{spec.name}"],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches only us; we stop them in order
                preexec_fn=die_with_parent,
            )
        for spec in SERVICES:
            self._wait_healthy(spec)
            say(f"{spec.name:<11} http://127.0.0.1:{spec.port}  ({spec.kind})")

    def _wait_healthy(self, spec: ServiceSpec, timeout_s: float = 180.0) -> None:
        # The classifier builds its model on the very first start: allow it minutes.
        deadline = time.monotonic() + timeout_s
        url = f"http://127.0.0.1:{spec.port}/healthz"
        while time.monotonic() < deadline:
            if self.stopping:
                raise RuntimeError("interrupted while starting")
            proc = self.procs[spec.name]
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{spec.name} exited with {proc.returncode}; see {self.logs / spec.name}.log"
                )
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"{spec.name} not healthy after {timeout_s}s")

    def watch(self) -> int:
        """Block until a signal arrives or a service dies; returns the exit code."""
        while not self.stopping:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    say(f"{name} exited unexpectedly ({proc.returncode}); stopping everything")
                    return 1
            time.sleep(0.5)
        return 0

    def stop(self) -> None:
        for name in SHUTDOWN_ORDER:
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in 30 s; killing it")
                proc.kill()
                proc.wait(5)
        if self.broker:
            self.broker.stop()
        if self.postgres:
            self.postgres.stop()
        say("stopped")


def main() -> int:
    home = Path(os.environ.get("VOC_HOME", ".voc")).resolve()
    stack = Stack(home)

    def _on_signal(signum: int, _frame: object) -> None:
        stack.stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    code = 1
    try:
        bootstrap, db_url = stack.start_infra()
        stack.prepare(bootstrap, db_url)
        stack.start_services(bootstrap, db_url)
        # The BI API wants a key (unless API_AUTH__ENABLED=false): say how to make one.
        url_env = "" if os.environ.get("VOC_DATABASE_URL") else f"VOC_DATABASE_URL={db_url} "
        create = "api-key create --name me --scopes scores:read,feedback:read"
        say(f"api key     {url_env}.venv/bin/voc {create}")
        say(f"ready; logs in {stack.logs}. Ctrl-C stops everything.")
        code = stack.watch()
    except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as exc:
        say(f"failed: {exc}")
    finally:
        stack.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
