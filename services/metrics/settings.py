"""Metrics writer settings: `METRICS_*` env vars, nested blocks as `METRICS_KAFKA__...`."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import SettingsConfigDict

from shared.events import EnrichedFeedbackEvent
from shared.settings import BaseServiceSettings, DatabaseSettings, HttpSettings, KafkaSettings

# Metrics an alert may watch: each is "worse = lower". eNPS is left out on purpose (employee
# surveys are not a customer touchpoint's score).
AlertMetric = Literal["nps", "csat", "ces", "stars", "sentiment"]
DEFAULT_ALERT_METRICS: tuple[AlertMetric, ...] = ("nps", "csat", "ces", "sentiment")
_HOUR = timedelta(hours=1)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(value: object) -> object:
    """'24h', '28d', '90m', '3600' (seconds) as well as ISO 8601 ('PT24H', 'P28D')."""
    if isinstance(value, str) and (match := _DURATION.match(value)):
        return timedelta(seconds=int(match[1]) * _UNITS[match[2]])
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class MetricsHttpSettings(HttpSettings):
    # A subclass, not a default instance: METRICS_HTTP__HOST alone must keep this port.
    port: int = 9102


class WebhookTarget(BaseModel):
    """Where a team's alert notifications go, and the secret they are signed with."""

    url: AnyHttpUrl
    secret: Annotated[SecretStr, Field(description="HMAC-SHA256 key; at least 16 characters.")]

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("webhook secret must be at least 16 characters")
        return value


class AlertSettings(BaseModel):
    """Score-drop alerts (`METRICS_ALERTS__...`): see services/metrics/alerts."""

    enabled: bool = True
    interval_s: float = Field(default=60.0, gt=0, description="Seconds between evaluations.")
    window: Duration = Field(
        default=timedelta(hours=24), description="Recent window, whole hours (24h, PT24H)."
    )
    baseline: Duration = Field(
        default=timedelta(days=28),
        description="Trailing baseline immediately before the window, whole hours (28d, P28D).",
    )
    metrics: list[AlertMetric] = Field(
        default_factory=lambda: list(DEFAULT_ALERT_METRICS), min_length=1
    )
    level: float = Field(default=0.95, gt=0.5, lt=1, description="One-sided test level.")
    resolve_level: float | None = Field(
        default=None,
        gt=0.5,
        lt=1,
        description="An open alert stays open while the drop is significant at this level; "
        "default `level`. Lower than `level` is hysteresis: it takes a clearer recovery to "
        "resolve than it took a drop to open.",
    )
    min_n: int = Field(default=30, ge=2, description="Least answers in each window to decide.")
    api_base_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8000"),
        description="Base of the BI API, for the links in webhook payloads.",
    )
    webhooks: dict[str, WebhookTarget] = Field(
        default_factory=dict, description="Team -> {url, secret}, as JSON in the env var."
    )
    max_attempts: int = Field(default=8, ge=1, description="Deliveries tried before giving up.")
    backoff_base_s: float = Field(default=2.0, gt=0, description="First retry delay; doubles.")
    backoff_max_s: float = Field(default=600.0, gt=0, description="Longest delay between tries.")
    request_timeout_s: float = Field(default=10.0, gt=0)
    notify_poll_s: float = Field(default=5.0, gt=0, description="How often pending are sent.")
    notify_batch: int = Field(default=20, ge=1, description="Notifications claimed at a time.")

    @field_validator("window", "baseline")
    @classmethod
    def _whole_hours(cls, value: timedelta) -> timedelta:
        # Rollups are hourly buckets: anything finer would silently round.
        if value <= timedelta(0) or value % _HOUR:
            raise ValueError("must be a positive whole number of hours, e.g. 24h, 28d or PT24H")
        return value

    @field_validator("metrics")
    @classmethod
    def _distinct(cls, value: list[AlertMetric]) -> list[AlertMetric]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _consistent(self) -> AlertSettings:
        if self.resolve_level is not None and self.resolve_level > self.level:
            raise ValueError(
                f"resolve_level ({self.resolve_level}) must not exceed level ({self.level}): "
                "an alert would resolve while its drop is still significant"
            )
        if self.backoff_max_s < self.backoff_base_s:
            raise ValueError("backoff_max_s must be at least backoff_base_s")
        return self

    @property
    def stay_level(self) -> float:
        return self.level if self.resolve_level is None else self.resolve_level


class MetricsSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="METRICS_", env_nested_delimiter="__", extra="ignore"
    )

    service_name: str = "metrics"
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    http: MetricsHttpSettings = Field(default_factory=MetricsHttpSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    journey_file: Path | None = Field(
        default=None,
        description="Touchpoint catalog (owning teams); default: $VOC_JOURNEY_FILE or packaged.",
    )
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
