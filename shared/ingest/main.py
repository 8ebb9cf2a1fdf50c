"""Entry point shared by the ingestion services' `__main__` modules."""

from __future__ import annotations

import sys
from typing import NoReturn

from fastapi import FastAPI

from shared.ingest.settings import IngestSettings
from shared.serve import serve as serve_app
from shared.telemetry import configure_logging


def serve(app: FastAPI, settings: IngestSettings) -> NoReturn:
    """Run `app` until SIGTERM/SIGINT, which stop it through the lifespan (producer flushed),
    then exit the process with `shared.serve`'s status."""
    configure_logging(settings.service_name, env=settings.env, level=settings.log_level)
    # The ingestion services keep uvicorn's access log: one line per source request.
    sys.exit(serve_app(app, settings.http, access_log=True))
