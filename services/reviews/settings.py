"""Settings of the reviews ingestion service (env prefix `REVIEWS_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.ingest import IngestSettings
from shared.settings import HttpSettings


class ReviewsSettings(IngestSettings):
    model_config = SettingsConfigDict(
        env_prefix="REVIEWS_", env_nested_delimiter="__", extra="ignore"
    )

    service_name: str = "reviews"
    http: HttpSettings = Field(default_factory=lambda: HttpSettings(port=8003))
    yelp_max_pages: int = Field(
        default=4,
        ge=1,
        le=20,
        description="Pages of 50 newest reviews searched for a notified Yelp review.",
    )
