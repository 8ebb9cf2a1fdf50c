"""The api app factory: engine and sessionmaker in the lifespan, errors, metrics, health."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import SQLAlchemyError

from services.api.alerts import router as alerts_router
from services.api.api import router
from services.api.auth import create_authenticator
from services.api.models import CatalogEntry
from services.api.repository import Repository
from services.api.settings import ApiSettings
from shared.db import create_engine, create_sessionmaker
from shared.errors import DatabaseUnavailable
from shared.http import HttpMetrics, install_error_handlers, install_request_metrics, ops_router
from shared.journey import load_journey

log = structlog.get_logger(__name__)


def load_catalog(path: Path | None = None) -> list[CatalogEntry]:
    """The configured touchpoint catalog (shared.journey), in file order."""
    return [
        CatalogEntry(name=tp.name, stage=tp.stage.value, team=tp.team)
        for tp in load_journey(path).touchpoints
    ]


def create_app(settings: ApiSettings, catalog: Sequence[CatalogEntry] | None = None) -> FastAPI:
    registry = CollectorRegistry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A broken catalog fails the start, before anything is connected.
        entries = catalog if catalog is not None else load_catalog(settings.journey_file)
        engine = create_engine(settings.database)
        # Read-only transactions: this service must never write, whatever its DB role allows.
        readonly = engine.execution_options(postgresql_readonly=True)
        app.state.settings = settings
        app.state.sessionmaker = create_sessionmaker(readonly)
        app.state.catalog = list(entries)
        app.state.authenticator = create_authenticator(
            settings.auth, app.state.sessionmaker, engine, settings.query_timeout_s, registry
        )
        log.info(
            "api.started",
            touchpoints=len(app.state.catalog),
            min_n=settings.min_n,
            auth=settings.auth.enabled,
        )
        if not settings.auth.enabled:
            log.warning("api.auth_disabled")
        try:
            yield
        finally:
            await engine.dispose()
            log.info("api.stopped")

    app = FastAPI(
        title="VoC BI API",
        version="1.0.0",
        summary="Read-only scores, touchpoints and verbatims for BI tools. Every /v1 route "
        "needs an API key (`Authorization: Bearer <key>`) with the scope it lists.",
        lifespan=lifespan,
    )

    async def ready() -> dict[str, bool]:
        async with app.state.sessionmaker() as session:
            try:
                await Repository(session, settings.query_timeout_s).ping()
            except (DatabaseUnavailable, SQLAlchemyError):
                return {"database": False}
        return {"database": True}

    install_error_handlers(app)
    install_request_metrics(app, HttpMetrics("api", registry))
    app.include_router(router)
    app.include_router(alerts_router)
    app.include_router(ops_router(registry, ready))
    return app
