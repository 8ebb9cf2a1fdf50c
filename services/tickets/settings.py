"""Settings of the tickets ingestion service (env prefix `TICKETS_`)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.ingest import IngestSettings
from shared.settings import HttpSettings

Csat = Annotated[int, Field(ge=1, le=5)]


class TicketsSettings(IngestSettings):
    model_config = SettingsConfigDict(
        env_prefix="TICKETS_", env_nested_delimiter="__", extra="ignore"
    )

    service_name: str = "tickets"
    http: HttpSettings = Field(default_factory=lambda: HttpSettings(port=8002))
    zendesk_csat_tags: dict[str, Csat] = Field(
        default_factory=lambda: {"voc_csat_good": 5, "voc_csat_bad": 1},
        description="Zendesk tag → CSAT (1–5), added by triggers when a rating arrives (JSON).",
    )
    freshdesk_time_zone: str = Field(
        default="UTC", description="IANA zone of Freshdesk's zone-less placeholder times."
    )

    @field_validator("freshdesk_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value
