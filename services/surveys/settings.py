"""Settings of the surveys ingestion service (env prefix `SURVEYS_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.ingest import IngestSettings
from shared.settings import HttpSettings


class SurveysSettings(IngestSettings):
    model_config = SettingsConfigDict(
        env_prefix="SURVEYS_", env_nested_delimiter="__", extra="ignore"
    )

    service_name: str = "surveys"
    http: HttpSettings = Field(default_factory=lambda: HttpSettings(port=8001))
