"""Settings of the social ingestion service (env prefix `SOCIAL_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.ingest import IngestSettings
from shared.settings import HttpSettings


class SocialSettings(IngestSettings):
    model_config = SettingsConfigDict(
        env_prefix="SOCIAL_", env_nested_delimiter="__", extra="ignore"
    )

    service_name: str = "social"
    http: HttpSettings = Field(default_factory=lambda: HttpSettings(port=8004))
