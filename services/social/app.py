"""App factory of the social ingestion service."""

from __future__ import annotations

from fastapi import FastAPI

from services.social.adapters.mastodon import MastodonAdapter
from services.social.adapters.x import XAdapter
from services.social.api import router
from services.social.service import to_feedback
from services.social.settings import SocialSettings
from shared.events import SourceKind
from shared.ingest import WebhookKit, create_ingest_app
from shared.ingest.webhooks import WebhookAdapter


def build_adapters(settings: SocialSettings) -> list[WebhookAdapter]:
    """The social networks this service takes webhooks from; each is off until its secret is
    set."""
    return [
        XAdapter(),
        MastodonAdapter(visibilities=settings.mastodon_visibilities),
    ]


def create_app(settings: SocialSettings | None = None) -> FastAPI:
    settings = settings or SocialSettings()
    return create_ingest_app(
        settings,
        kind=SourceKind.social,
        router=router,
        webhooks=WebhookKit(adapters=build_adapters(settings), to_feedback=to_feedback),
    )
