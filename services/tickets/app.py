"""App factory of the tickets ingestion service."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import FastAPI

from services.tickets.adapters.freshdesk import FreshdeskAdapter
from services.tickets.adapters.intercom import IntercomAdapter
from services.tickets.adapters.zendesk import ZendeskAdapter
from services.tickets.api import router
from services.tickets.service import to_feedback
from services.tickets.settings import TicketsSettings
from shared.events import SourceKind
from shared.ingest import WebhookKit, create_ingest_app
from shared.ingest.webhooks import WebhookAdapter


def build_adapters(settings: TicketsSettings) -> list[WebhookAdapter]:
    """The help desks this service takes webhooks from; each is off until its secret is set."""
    return [
        ZendeskAdapter(settings.zendesk_csat_tags),
        IntercomAdapter(),
        FreshdeskAdapter(ZoneInfo(settings.freshdesk_time_zone)),
    ]


def create_app(settings: TicketsSettings | None = None) -> FastAPI:
    settings = settings or TicketsSettings()
    return create_ingest_app(
        settings,
        kind=SourceKind.ticket,
        router=router,
        webhooks=WebhookKit(adapters=build_adapters(settings), to_feedback=to_feedback),
    )
