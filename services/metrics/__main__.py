"""`python -m services.metrics`: the metrics writer with its side HTTP port."""

from __future__ import annotations

import sys

from services.metrics.app import create_app, worker_failed
from services.metrics.settings import MetricsSettings
from shared.serve import serve
from shared.telemetry import configure_logging


def main() -> int:
    settings = MetricsSettings()
    configure_logging(settings.service_name, env=settings.env, level=settings.log_level)
    app = create_app(settings)
    return serve(app, settings.http, failed=lambda: worker_failed(app))


if __name__ == "__main__":
    sys.exit(main())
