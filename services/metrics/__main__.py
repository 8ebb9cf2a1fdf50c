"""`python -m services.metrics`: the metrics writer with its side HTTP port."""

from __future__ import annotations

import sys

import uvicorn

from services.metrics.app import create_app
from services.metrics.settings import MetricsSettings
from shared.telemetry import configure_logging


def main() -> int:
    settings = MetricsSettings()
    configure_logging(settings.service_name, env=settings.env, level=settings.log_level)
    server: uvicorn.Server | None = None

    def exit_server() -> None:
        if server is not None:
            server.should_exit = True

    app = create_app(settings, on_fatal=exit_server)
    config = uvicorn.Config(
        app,
        host=settings.http.host,
        port=settings.http.port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    server.run()
    return 1 if app.state.failed or not server.started else 0


if __name__ == "__main__":
    sys.exit(main())
