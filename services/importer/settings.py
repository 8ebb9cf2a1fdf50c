"""Settings of `voc import` (env prefix `IMPORT_`, e.g. `IMPORT_URLS__TICKETS`)."""

from __future__ import annotations

import os

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from services.importer.kinds import KINDS
from shared.settings import BaseServiceSettings

MiB = 1024 * 1024
MAX_BATCH_ITEMS = 1000  # what an ingestion endpoint accepts in one request


def _local_url(kind: str) -> str:
    # The same port override `make run` honours, so a moved stack needs no second setting.
    port = os.environ.get(f"VOC_{kind.upper()}_PORT") or KINDS[kind].default_port
    return f"http://127.0.0.1:{port}"


class ServiceUrls(BaseModel):
    """Base URL of each ingestion service."""

    surveys: str = Field(default_factory=lambda: _local_url("surveys"))
    tickets: str = Field(default_factory=lambda: _local_url("tickets"))
    reviews: str = Field(default_factory=lambda: _local_url("reviews"))
    social: str = Field(default_factory=lambda: _local_url("social"))

    def for_kind(self, kind: str) -> str:
        url: str = getattr(self, kind)
        return url


class RetrySettings(BaseModel):
    """Retries of a batch the service could not take now (503, 429, 5xx, network errors)."""

    max_attempts: int = Field(default=8, ge=1)
    backoff_initial_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)


class ImporterSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="IMPORT_", env_nested_delimiter="__", extra="ignore"
    )

    service_name: str = "importer"
    log_level: str = "WARNING"  # a CLI: the progress bar and the summary are the output
    urls: ServiceUrls = Field(default_factory=ServiceUrls)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    batch_size: int = Field(default=MAX_BATCH_ITEMS, ge=1, le=MAX_BATCH_ITEMS)
    # Below the services' default 5 MiB body limit; an oversized batch is split anyway (413).
    max_batch_bytes: int = Field(default=4 * MiB, gt=0)
    concurrency: int = Field(default=2, ge=1, le=16, description="Batches in flight at once.")
    timeout_s: float = Field(default=30.0, gt=0, description="HTTP timeout of one request.")
