"""App factory of the reviews ingestion service."""

from __future__ import annotations

from fastapi import FastAPI

from services.reviews.api import router
from services.reviews.settings import ReviewsSettings
from shared.events import SourceKind
from shared.ingest import create_ingest_app


def create_app(settings: ReviewsSettings | None = None) -> FastAPI:
    return create_ingest_app(settings or ReviewsSettings(), kind=SourceKind.review, router=router)
