"""Entry point shared by the ingestion services' `__main__` modules."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from shared.ingest.settings import IngestSettings
from shared.telemetry import configure_logging


def serve(app: FastAPI, settings: IngestSettings) -> None:
    """Run `app` under uvicorn; SIGTERM/SIGINT stop it through the lifespan (producer flushed)."""
    configure_logging(settings.service_name, env=settings.env, level=settings.log_level)
    uvicorn.run(
        app,
        host=settings.http.host,
        port=settings.http.port,
        log_config=None,  # keep the structlog/stdlib setup above
        proxy_headers=True,
    )
