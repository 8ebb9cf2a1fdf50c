"""Fixtures for `voc import`: the four ingestion apps in-process (lifespan included) on a broker
of this package's own, so every record on a raw topic was published by a test here and
`consume_until` can be told how many records to expect before filtering by event id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.importer.cli import open_records, run_import
from services.importer.formats import FORMATS
from services.importer.settings import ImporterSettings, RetrySettings
from services.importer.summary import Summary
from services.reviews.app import create_app as create_reviews
from services.reviews.settings import ReviewsSettings
from services.social.app import create_app as create_social
from services.social.settings import SocialSettings
from services.surveys.app import create_app as create_surveys
from services.surveys.settings import SurveysSettings
from services.tickets.app import create_app as create_tickets
from services.tickets.settings import TicketsSettings
from shared.embedded import EmbeddedBroker, free_port
from shared.events import RawFeedbackEvent, SourceKind
from shared.ingest import IngestSettings
from shared.kafka import ensure_topics
from shared.settings import KafkaSettings
from tests.helpers import consume_until

FIXTURES = Path(__file__).parents[2] / "fixtures" / "import"

APPS: dict[str, tuple[SourceKind, type[IngestSettings], Callable[[Any], FastAPI]]] = {
    "surveys": (SourceKind.survey, SurveysSettings, create_surveys),
    "tickets": (SourceKind.ticket, TicketsSettings, create_tickets),
    "reviews": (SourceKind.review, ReviewsSettings, create_reviews),
    "social": (SourceKind.social, SocialSettings, create_social),
}
# Quick retries: a test that meets a 503 should not wait out production backoff.
FAST_RETRY = RetrySettings(max_attempts=50, backoff_initial_s=0.05, backoff_max_s=0.5)


def kafka_settings_for(bootstrap: str) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=bootstrap, request_timeout_ms=5000, linger_ms=1)


def app_for(kind: str, kafka: KafkaSettings, **overrides: Any) -> FastAPI:
    _, settings_cls, create = APPS[kind]
    knobs: dict[str, Any] = {
        "startup_wait_s": 5.0,
        "connect_retry_max_s": 0.5,
        "shutdown_timeout_s": 2.0,
    }
    return create(settings_cls(kafka=kafka, **{**knobs, **overrides}))


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """`app` with its lifespan entered, behind an in-process HTTP client."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            yield client


@dataclass
class Ingestion:
    """The four services and what they published, as the importer tests see them."""

    kafka: KafkaSettings
    clients: dict[str, httpx.AsyncClient]
    published: Counter[str] = field(default_factory=Counter)

    async def import_file(
        self,
        path: Path,
        fmt: str,
        kind: str | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        **settings: Any,
    ) -> Summary:
        """Run the importer on `path`, entering what it published in the ledger."""
        spec = FORMATS[fmt]
        kind = kind or spec.kinds[0]
        records, _ = open_records(path, spec)
        importer_settings = ImporterSettings(retry=FAST_RETRY, **settings)
        http = client or self.clients[kind]
        summary = await run_import(records, kind, spec, importer_settings, http, path)
        self.published[topic_of(kind)] += summary.accepted
        return summary

    async def events(self, kind: str, source: str) -> list[RawFeedbackEvent]:
        """Every event of `source` on the kind's raw topic, duplicates included, in offset order."""
        topic = topic_of(kind)
        records = await consume_until(self.kafka.bootstrap_servers, [topic], self.published[topic])
        ordered = sorted(records, key=lambda r: (r.partition, r.offset))
        events = [RawFeedbackEvent.model_validate_json(r.value) for r in ordered]
        return [e for e in events if e.data.source == source]


def topic_of(kind: str) -> str:
    return RawFeedbackEvent.topic_for(APPS[kind][0])


@pytest.fixture(scope="package")
def import_kafka() -> Iterator[KafkaSettings]:
    broker = EmbeddedBroker(free_port()).start()
    yield kafka_settings_for(broker.bootstrap)
    broker.stop()


@pytest.fixture(scope="package")
async def ingestion(import_kafka: KafkaSettings) -> AsyncIterator[Ingestion]:
    await ensure_topics(import_kafka, topics=RawFeedbackEvent.topics())
    async with AsyncExitStack() as stack:
        clients = {
            kind: await stack.enter_async_context(running(app_for(kind, import_kafka)))
            for kind in APPS
        }
        yield Ingestion(import_kafka, clients)
