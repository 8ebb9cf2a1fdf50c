"""Settings blocks every service composes into its own pydantic-settings class.

A service's class sets its env prefix and nests these blocks, e.g.
`SURVEYS_KAFKA__BOOTSTRAP_SERVERS` or `METRICS_DATABASE__URL`. The VOC_* variables are the
deployment-wide fallbacks (`VOC_KAFKA_BOOTSTRAP`, `VOC_DATABASE_URL`, `VOC_ENV`) that `make run`
and docker-compose set once for all services.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


class KafkaSettings(BaseModel):
    bootstrap_servers: str = Field(
        default_factory=lambda: _env("VOC_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    )
    client_id: str = "voc"
    # Idempotent producers need broker support that the embedded Tansu lacks (INFRA.md); the
    # pipeline is correct without it because every consumer dedupes by event_id.
    enable_idempotence: bool = False
    compression_type: Literal["gzip", "lz4", "zstd", "snappy"] | None = "lz4"
    linger_ms: int = 5
    request_timeout_ms: int = 10_000
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000
    max_poll_records: int = 500
    fetch_timeout_ms: int = 500
    commit_timeout_s: float = 10.0


class DatabaseSettings(BaseModel):
    url: str = Field(
        default_factory=lambda: _env(
            "VOC_DATABASE_URL", "postgresql+asyncpg://voc:voc@127.0.0.1:5432/voc"
        )
    )
    pool_size: int = 5
    echo: bool = False


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000


class BaseServiceSettings(BaseSettings):
    """Common knobs; subclasses set `model_config` with their own env prefix."""

    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="ignore")

    env: Literal["dev", "test", "prod"] = Field(default_factory=lambda: _env("VOC_ENV", "dev"))  # type: ignore[arg-type,return-value]
    log_level: str = "INFO"
    service_name: str = "voc"
