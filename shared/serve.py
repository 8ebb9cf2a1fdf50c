"""Run a service's FastAPI app under uvicorn and turn how it ended into the process's exit code."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.settings import HttpSettings


class _Server(uvicorn.Server):
    """Also stops, gracefully, as soon as `failed()` turns true (checked on uvicorn's 0.1 s tick).

    Polling the flag lets a background task's death end the process without holding a reference
    to the server, which does not exist yet when the app and its hooks are built.
    """

    def __init__(self, config: uvicorn.Config, failed: Callable[[], bool]) -> None:
        super().__init__(config)
        self.failed = failed

    async def on_tick(self, counter: int) -> bool:
        return await super().on_tick(counter) or self.failed()


def serve(
    app: FastAPI,
    http: HttpSettings,
    *,
    failed: Callable[[], bool] | None = None,
    access_log: bool = False,
) -> int:
    """Serve `app` on `http.host:http.port` until SIGTERM/SIGINT or until `failed()` is true.

    The lifespan is on, so a failing startup ends the process (uvicorn exits with status 3), and
    logging stays as `shared.telemetry.configure_logging` set it up. Returns 1 when `failed()` or
    the server never started, else 0. After a signal, uvicorn re-raises it once shutdown is done,
    so the process ends by that signal (143 for SIGTERM): supervisors read that as a clean stop.
    """
    check = failed or (lambda: False)
    server = _Server(
        uvicorn.Config(
            app,
            host=http.host,
            port=http.port,
            log_config=None,  # keep the structlog/stdlib setup of configure_logging
            access_log=access_log,
            lifespan="on",
        ),
        check,
    )
    server.run()
    return 1 if check() or not server.started else 0
