"""Settings of the tickets ingestion service (env prefix `TICKETS_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.ingest import IngestSettings
from shared.settings import HttpSettings


class TicketsSettings(IngestSettings):
    model_config = SettingsConfigDict(
        env_prefix="TICKETS_", env_nested_delimiter="__", extra="ignore"
    )

    service_name: str = "tickets"
    http: HttpSettings = Field(default_factory=lambda: HttpSettings(port=8002))
