"""`python -m services.classifier`: the consumer plus its side port for health and metrics."""

from __future__ import annotations

import sys

import structlog

from services.classifier.app import create_app
from services.classifier.settings import ClassifierSettings
from shared.journey import JourneyError
from shared.serve import serve
from shared.telemetry import configure_logging

log = structlog.get_logger(__name__)


def main() -> int:
    settings = ClassifierSettings()
    configure_logging(settings.service_name, env=settings.env, level=settings.log_level)
    try:
        app = create_app(settings)
    except JourneyError as exc:
        log.error("classifier.bad_journey_catalog", error=str(exc))
        return 2
    return serve(app, settings.http, failed=lambda: app.state.classifier.failed)


if __name__ == "__main__":
    sys.exit(main())
