"""Metrics writer settings: `METRICS_*` env vars, nested blocks as `METRICS_KAFKA__...`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.events import EnrichedFeedbackEvent
from shared.settings import BaseServiceSettings, DatabaseSettings, HttpSettings, KafkaSettings


class MetricsHttpSettings(HttpSettings):
    # A subclass, not a default instance: METRICS_HTTP__HOST alone must keep this port.
    port: int = 9102


class MetricsSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="METRICS_", env_nested_delimiter="__", extra="ignore"
    )

    service_name: str = "metrics"
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    http: MetricsHttpSettings = Field(default_factory=MetricsHttpSettings)
    group_id: str = "metrics"
    topics: list[str] = Field(default_factory=EnrichedFeedbackEvent.topics)
    max_batch: int | None = Field(
        default=None, description="Records per batch (one transaction); kafka.max_poll_records."
    )
    retry_max_backoff_s: float = 30.0
    shutdown_timeout_s: float = Field(
        default=30.0, description="How long shutdown waits for the batch in flight."
    )
    ready_timeout_s: float = 2.0
