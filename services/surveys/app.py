"""App factory of the surveys ingestion service."""

from __future__ import annotations

from fastapi import FastAPI

from services.surveys.api import router
from services.surveys.settings import SurveysSettings
from shared.events import SourceKind
from shared.ingest import create_ingest_app


def create_app(settings: SurveysSettings | None = None) -> FastAPI:
    return create_ingest_app(settings or SurveysSettings(), kind=SourceKind.survey, router=router)
