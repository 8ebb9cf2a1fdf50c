"""App factory of the reviews ingestion service."""

from __future__ import annotations

from fastapi import FastAPI

from services.reviews.adapters.trustpilot import TrustpilotAdapter
from services.reviews.adapters.yelp import YelpAdapter
from services.reviews.api import router
from services.reviews.service import to_feedback
from services.reviews.settings import ReviewsSettings
from shared.events import SourceKind
from shared.ingest import WebhookKit, create_ingest_app
from shared.ingest.webhooks import WebhookAdapter


def build_adapters(settings: ReviewsSettings) -> list[WebhookAdapter]:
    """The review platforms this service takes webhooks from; each is off until its secret is
    set (Yelp also needs its Fusion API key)."""
    return [
        TrustpilotAdapter(),
        YelpAdapter(max_pages=settings.yelp_max_pages),
    ]


def create_app(settings: ReviewsSettings | None = None) -> FastAPI:
    settings = settings or ReviewsSettings()
    return create_ingest_app(
        settings,
        kind=SourceKind.review,
        router=router,
        webhooks=WebhookKit(adapters=build_adapters(settings), to_feedback=to_feedback),
    )
