"""App factory of the social ingestion service."""

from __future__ import annotations

from fastapi import FastAPI

from services.social.api import router
from services.social.settings import SocialSettings
from shared.events import SourceKind
from shared.ingest import create_ingest_app


def create_app(settings: SocialSettings | None = None) -> FastAPI:
    return create_ingest_app(settings or SocialSettings(), kind=SourceKind.social, router=router)
