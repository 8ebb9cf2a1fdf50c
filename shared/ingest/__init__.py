"""Ingestion kit: everything the four ingestion services share, none of their source logic.

A service supplies a request model (subclass of `IngestItem`), a mapping to `Feedback` (built
with `build_feedback`) and a route that calls `Ingestor.ingest`; `create_ingest_app` does the
rest: body limits, validation errors, publishing with acks, metrics and health. Vendor webhooks
(`/v1/webhooks/{vendor}`) come from the adapters a service registers in a `WebhookKit`; see
`shared.ingest.webhooks`.
"""

from shared.ingest.api import INGEST_RESPONSES, IngestorDep, json_body
from shared.ingest.app import create_ingest_app
from shared.ingest.ingestor import Ingestor
from shared.ingest.main import serve
from shared.ingest.mapping import build_feedback, join_text
from shared.ingest.models import Accepted, IngestItem, ShortStr
from shared.ingest.settings import IngestSettings
from shared.ingest.webhooks.kit import WebhookKit

__all__ = [
    "INGEST_RESPONSES",
    "Accepted",
    "IngestItem",
    "IngestSettings",
    "Ingestor",
    "IngestorDep",
    "ShortStr",
    "WebhookKit",
    "build_feedback",
    "create_ingest_app",
    "join_text",
    "json_body",
    "serve",
]
