"""`python -m services.classifier`: the consumer plus its side port for health and metrics."""

from __future__ import annotations

import sys

import structlog
import uvicorn

from services.classifier.app import create_app
from services.classifier.settings import ClassifierSettings
from shared.journey import JourneyError
from shared.telemetry import configure_logging

log = structlog.get_logger(__name__)


def main() -> int:
    settings = ClassifierSettings()
    configure_logging(settings.service_name, env=settings.env, level=settings.log_level)
    server: uvicorn.Server | None = None

    def stop_server() -> None:
        # The runner died: shut down gracefully, then exit non-zero below.
        if server is not None:
            server.should_exit = True

    try:
        app = create_app(settings, on_fatal=stop_server)
    except JourneyError as exc:
        log.error("classifier.bad_journey_catalog", error=str(exc))
        return 2
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.http.host,
            port=settings.http.port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
    )
    server.run()
    return 1 if app.state.classifier.failed else 0


if __name__ == "__main__":
    sys.exit(main())
