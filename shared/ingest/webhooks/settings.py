"""Webhook settings, nested in each ingestion service's settings as `webhooks`.

Secrets come from the deployment-wide `VOC_WEBHOOK_SECRET_<VENDOR>` variables (one per vendor,
whichever service serves it); everything else follows the service prefix, e.g.
`SURVEYS_WEBHOOKS__RATE_LIMIT__PER_S=5` or `SURVEYS_WEBHOOKS__FETCH__QUALTRICS__TOKEN=...`.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, Field, SecretStr

SECRET_ENV_PREFIX = "VOC_WEBHOOK_SECRET_"
KiB = 1024


def secrets_from_env() -> dict[str, SecretStr]:
    """{vendor: secret} from every non-empty `VOC_WEBHOOK_SECRET_<VENDOR>`."""
    return {
        name.removeprefix(SECRET_ENV_PREFIX).lower(): SecretStr(value)
        for name, value in os.environ.items()
        if name.startswith(SECRET_ENV_PREFIX) and value.strip()
    }


class RateLimit(BaseModel):
    per_s: float = Field(default=20.0, gt=0, description="Sustained deliveries per second.")
    burst: int = Field(default=100, ge=1, description="Deliveries accepted at once.")


class FetchTarget(BaseModel):
    """A vendor API that fetch-step vendors call for the details a webhook leaves out."""

    base_url: str | None = Field(default=None, description="Defaults to the adapter's own.")
    token: SecretStr | None = None
    rate_limit: RateLimit = Field(default_factory=lambda: RateLimit(per_s=2.0, burst=5))
    timeout_s: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(
        default=5, ge=1, description="Tries per fetch before the envelope is dead-lettered."
    )
    backoff_s: float = Field(default=0.5, gt=0, description="First wait between tries.")
    backoff_max_s: float = Field(default=8.0, gt=0)


class WebhookSettings(BaseModel):
    secrets: dict[str, SecretStr] = Field(
        default_factory=secrets_from_env,
        description="Per-vendor secret; a vendor without one is disabled (404).",
    )
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    rate_limits: dict[str, RateLimit] = Field(
        default_factory=dict, description="Per-vendor overrides of `rate_limit`."
    )
    max_body_bytes: int = Field(
        default=512 * KiB,
        gt=0,
        description="Webhook body cap; the raw payload travels in the event, and Kafka's "
        "default message limit is 1 MiB.",
    )
    timestamp_tolerance_s: float = Field(
        default=300.0, gt=0, description="Replay window for signed timestamps."
    )
    fetch: dict[str, FetchTarget] = Field(default_factory=dict)
    fetch_group_id: str | None = Field(
        default=None, description="Consumer group of the fetch worker; '<service>-fetch'."
    )

    def secret(self, vendor: str) -> str | None:
        value = self.secrets.get(vendor)
        text = value.get_secret_value() if value is not None else ""
        return text or None

    def limit_for(self, vendor: str) -> RateLimit:
        return self.rate_limits.get(vendor, self.rate_limit)

    def fetch_for(self, vendor: str) -> FetchTarget:
        return self.fetch.get(vendor) or FetchTarget()
