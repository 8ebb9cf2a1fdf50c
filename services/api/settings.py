"""Settings of the api service (env prefix `API_`, e.g. `API_DATABASE__URL`, `API_MIN_N`,
`API_AUTH__ENABLED`, `API_DATABASE__WORK_MEM`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import BaseServiceSettings, DatabaseSettings, HttpSettings


class AuthSettings(BaseModel):
    """Bearer API keys (`voc api-key create`). Off only for a local setup that wants none."""

    enabled: bool = True
    cache_ttl_s: float = Field(
        default=30.0,
        ge=0,
        description="How long a key lookup is reused; a revoke takes effect within this time.",
    )
    cache_max_keys: int = Field(default=10_000, ge=1, description="Most key lookups kept.")
    track_last_used: bool = Field(
        default=True, description="Record when a key was last used (one small write a minute)."
    )
    last_used_interval_s: float = Field(
        default=60.0, ge=0, description="Least time between two last_used_at writes of a key."
    )


class ApiDatabaseSettings(DatabaseSettings):
    """The database block, plus what the api's sessions set on the server."""

    work_mem: str | None = Field(
        default="32MB",
        pattern=r"^([0-9]+ ?(kB|MB|GB))?$",
        description="PostgreSQL work_mem of the api's connections (`API_DATABASE__WORK_MEM`), "
        "so sorting and grouping a year of slice rows stays in memory; empty: the server's.",
    )

    def server_settings(self) -> dict[str, str]:
        return {"work_mem": self.work_mem} if self.work_mem else {}


class ApiSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="API_", env_nested_delimiter="__", extra="ignore")

    service_name: str = "api"
    http: HttpSettings = Field(default_factory=HttpSettings)
    database: ApiDatabaseSettings = Field(default_factory=ApiDatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    min_n: int = Field(default=30, ge=1, description="A score on fewer answers is low-confidence.")
    default_window_days: int = Field(default=30, ge=1, description="Scores window when no `from`.")
    journey_file: Path | None = Field(
        default=None,
        description="Touchpoint catalog; default: $VOC_JOURNEY_FILE or the packaged one.",
    )
    export_max_rows: int = Field(
        default=100_000, ge=1, description="Most rows one CSV export response streams."
    )
    query_timeout_s: float = Field(
        default=10.0, gt=0, description="Longest a request waits on the database before a 503."
    )

    @field_validator("database", mode="before")
    @classmethod
    def _plain_database(cls, value: Any) -> Any:
        """A shared DatabaseSettings (as other services take) gets the api's defaults added."""
        if isinstance(value, DatabaseSettings) and not isinstance(value, ApiDatabaseSettings):
            return value.model_dump()
        return value
