"""`python -m services.api`: serve the BI API with uvicorn (graceful on SIGTERM via lifespan)."""

from __future__ import annotations

import uvicorn

from services.api.app import create_app
from services.api.settings import ApiSettings
from shared.telemetry import configure_logging


def main() -> None:
    settings = ApiSettings()
    configure_logging(settings.service_name, env=settings.env, level=settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.http.host,
        port=settings.http.port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
