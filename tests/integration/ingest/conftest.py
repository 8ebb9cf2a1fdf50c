"""Fixtures for the ingestion services: each app runs in-process, lifespan included.

The raw topics' names are fixed by the contract (`voc.raw.<kind>.v1`), so these tests use a
broker of their own: then every record on a raw topic was accepted by a test here, and
`consume_until` can be told exactly how many records to expect before filtering by event id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

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

MAX_BODY_BYTES = 16_384
MAX_ITEMS = 5


@dataclass(frozen=True)
class ServiceSpec:
    """What differs between the four services, as the tests see them."""

    name: str
    kind: SourceKind
    path: str
    settings_cls: type[IngestSettings]
    create_app: Callable[[Any], FastAPI]
    sample: dict[str, Any]  # the kind-specific fields of a valid item
    required: str  # a required field to leave out
    out_of_range: tuple[str, Any]
    wrong_type: tuple[str, Any]
    typo: str  # an unknown field

    @property
    def topic(self) -> str:
        return RawFeedbackEvent.topic_for(self.kind)

    def item(self, source_id: str, source: str = "test", **fields: Any) -> dict[str, Any]:
        base = {"source": source, "source_id": source_id, "occurred_at": "2025-03-01T10:00:00Z"}
        return {**base, **self.sample, **fields}


SPECS = [
    ServiceSpec(
        "surveys",
        SourceKind.survey,
        "/v1/responses",
        SurveysSettings,
        create_surveys,
        sample={"nps": 9, "comment": "Fast checkout", "survey_type": "transactional"},
        required="source_id",
        out_of_range=("nps", 11),
        wrong_type=("csat", "great"),
        typo="nps_score",
    ),
    ServiceSpec(
        "tickets",
        SourceKind.ticket,
        "/v1/tickets",
        TicketsSettings,
        create_tickets,
        sample={"subject": "Refund", "body": "Charged twice", "tags": ["billing"], "csat": 2},
        required="occurred_at",
        out_of_range=("csat", 6),
        wrong_type=("tags", "billing"),
        typo="subjekt",
    ),
    ServiceSpec(
        "reviews",
        SourceKind.review,
        "/v1/reviews",
        ReviewsSettings,
        create_reviews,
        sample={"platform": "trustpilot", "stars": 4, "title": "Good", "body": "Works"},
        required="stars",
        out_of_range=("stars", 0),
        wrong_type=("stars", "five"),
        typo="rating",
    ),
    ServiceSpec(
        "social",
        SourceKind.social,
        "/v1/posts",
        SocialSettings,
        create_social,
        sample={"platform": "x", "author": "@jane", "text": "Love it", "reach": 100},
        required="text",
        out_of_range=("reach", -1),
        wrong_type=("engagement", [1, 2]),
        typo="txt",
    ),
]


@dataclass
class IngestBroker:
    """The tests' own broker, and how many records the tests had accepted on each topic."""

    kafka: KafkaSettings
    published: Counter[str] = field(default_factory=Counter)

    async def records(self, topic: str, event_ids: list[str]) -> list[Any]:
        """The records of `event_ids` on `topic` (duplicates included), in offset order."""
        records = await consume_until(self.kafka.bootstrap_servers, [topic], self.published[topic])
        wanted = set(event_ids)
        mine = [r for r in records if dict(r.headers).get("ce_id", b"").decode() in wanted]
        return sorted(mine, key=lambda r: (r.partition, r.offset))


@pytest.fixture(scope="package")
def ingest_kafka() -> Iterator[KafkaSettings]:
    broker = EmbeddedBroker(free_port()).start()
    yield kafka_settings_for(broker.bootstrap)
    broker.stop()


@pytest.fixture(scope="package")
async def ingest_broker(ingest_kafka: KafkaSettings) -> IngestBroker:
    await ensure_topics(ingest_kafka, topics=RawFeedbackEvent.topics())
    return IngestBroker(ingest_kafka)


def kafka_settings_for(bootstrap: str) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=bootstrap, request_timeout_ms=5000, linger_ms=1)


def ingest_settings(spec: ServiceSpec, kafka: KafkaSettings, **overrides: Any) -> IngestSettings:
    knobs: dict[str, Any] = {
        "max_body_bytes": MAX_BODY_BYTES,
        "max_items": MAX_ITEMS,
        "startup_wait_s": 5.0,
        "connect_retry_max_s": 0.5,
        "shutdown_timeout_s": 2.0,
    }
    return spec.settings_cls(kafka=kafka, **{**knobs, **overrides})


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """`app` with its lifespan entered, behind an in-process HTTP client."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            yield client


@dataclass
class Service:
    spec: ServiceSpec
    client: httpx.AsyncClient
    broker: IngestBroker

    async def post(self, body: Any, **kwargs: Any) -> httpx.Response:
        """POST `body` as JSON; a 202 is entered in the broker's ledger of records."""
        response = await self.client.post(self.spec.path, json=body, **kwargs)
        if response.status_code == 202:
            self.broker.published[self.spec.topic] += response.json()["accepted"]
        return response


@pytest.fixture(scope="package", params=SPECS, ids=[s.name for s in SPECS])
async def service(
    request: pytest.FixtureRequest, ingest_broker: IngestBroker
) -> AsyncIterator[Service]:
    spec: ServiceSpec = request.param
    app = spec.create_app(ingest_settings(spec, ingest_broker.kafka))
    async with running(app) as client:
        yield Service(spec, client, ingest_broker)
