"""Settings of the social ingestion service (env prefix `SOCIAL_`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.ingest import IngestSettings
from shared.settings import HttpSettings

Visibility = Literal["public", "unlisted", "private", "direct"]


class SocialSettings(IngestSettings):
    model_config = SettingsConfigDict(
        env_prefix="SOCIAL_", env_nested_delimiter="__", extra="ignore"
    )

    service_name: str = "social"
    http: HttpSettings = Field(default_factory=lambda: HttpSettings(port=8004))
    mastodon_visibilities: list[Visibility] = Field(
        default=["public", "unlisted"],
        description="Mastodon visibilities to ingest; followers-only and direct posts are "
        "private unless listed here (JSON, e.g. '[\"public\"]').",
    )
