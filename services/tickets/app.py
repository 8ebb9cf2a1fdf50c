"""App factory of the tickets ingestion service."""

from __future__ import annotations

from fastapi import FastAPI

from services.tickets.api import router
from services.tickets.settings import TicketsSettings
from shared.events import SourceKind
from shared.ingest import create_ingest_app


def create_app(settings: TicketsSettings | None = None) -> FastAPI:
    return create_ingest_app(settings or TicketsSettings(), kind=SourceKind.ticket, router=router)
