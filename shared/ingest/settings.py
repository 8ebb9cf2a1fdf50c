"""Settings every ingestion service shares; each service subclasses with its env prefix."""

from __future__ import annotations

from pydantic import Field

from shared.ingest.webhooks.settings import WebhookSettings
from shared.settings import BaseServiceSettings, HttpSettings, KafkaSettings

MiB = 1024 * 1024


class IngestSettings(BaseServiceSettings):
    """Knobs of the ingestion kit. A service sets `env_prefix`, `service_name` and its port."""

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    max_body_bytes: int = Field(default=5 * MiB, gt=0)
    max_items: int = Field(default=1000, gt=0, description="Most items one request may carry.")
    publish_timeout_s: float = Field(
        default=1.5, gt=0, description="How long a request waits for the broker's acks."
    )
    startup_wait_s: float = Field(
        default=5.0, ge=0, description="How long startup waits for the broker before serving."
    )
    connect_retry_max_s: float = Field(
        default=5.0, gt=0, description="Ceiling of the backoff between broker connect attempts."
    )
    shutdown_timeout_s: float = Field(
        default=10.0, gt=0, description="How long shutdown waits to flush pending writes."
    )
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
