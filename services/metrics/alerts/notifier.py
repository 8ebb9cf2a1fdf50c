"""Webhook delivery of alert changes from the outbox (alert_notifications).

Each notification is POSTed as JSON to the owning team's webhook, signed with the team's secret:
`X-VoC-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, and carries
`X-VoC-Delivery: <uuid>`, the same on every retry, so receivers can drop duplicates. Network
errors, 5xx and 429 are retried with exponential backoff (or after the receiver's Retry-After),
up to `max_attempts`; any other answer is final. The retry schedule is stored with the row, so a
restart or another replica carries on where this one stopped, and `FOR UPDATE SKIP LOCKED`
keeps two replicas from sending one notification at the same time.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics.alerts import repository
from services.metrics.settings import AlertSettings
from services.metrics.telemetry import AlertMetrics

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-VoC-Signature"
DELIVERY_HEADER = "X-VoC-Delivery"
USER_AGENT = "voc-alerts/1"
Outcome = Literal["sent", "retried", "failed"]


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The X-VoC-Signature value of `body` sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def encode_body(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def links(base_url: str, alert: Mapping[str, Any]) -> dict[str, str]:
    """Where a receiver can look: the alert in the API, and the compare query behind it."""
    base = base_url.rstrip("/")
    about = {"touchpoint": alert["touchpoint"], "metric": alert["metric"]}
    compare = {
        **about,
        "current_from": _iso(alert["window_start"]),
        "current_to": _iso(alert["window_end"]),
        "previous_from": _iso(alert["baseline_start"]),
        "previous_to": _iso(alert["baseline_end"]),
    }
    return {
        "alerts": f"{base}/v1/alerts?{urlencode({**about, 'status': 'all'})}",
        "compare": f"{base}/v1/scores/compare?{urlencode(compare)}",
    }


ALERT_FIELDS = (
    "id", "touchpoint", "metric", "team", "status", "test", "level", "min_n",
    "window_start", "window_end", "baseline_start", "baseline_end", "window_value",
    "window_n", "baseline_value", "baseline_n", "difference", "ci_low", "ci_high",
    "statistic", "p_value", "opened_at", "last_evaluated_at", "resolved_at",
)  # fmt: skip


def build_payload(
    event: str, alert: Mapping[str, Any], stage: str | None, base_url: str
) -> dict[str, Any]:
    """The JSON a webhook receives (the outbox adds `delivery_id`)."""
    fields = {k: alert.get(k) for k in ALERT_FIELDS}
    return {
        "event": event,
        "alert": {k: str(v) if k == "id" else _iso(v) for k, v in fields.items()},
        "touchpoint": {"name": alert["touchpoint"], "journey_stage": stage},
        "team": alert["team"],
        "links": links(base_url, alert),
    }


def retry_after_s(value: str | None, now: float) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def backoff_s(attempts_made: int, settings: AlertSettings) -> float:
    """Delay before the next try after `attempts_made` failed ones: base, 2 x base, 4 x base..."""
    exponent = min(attempts_made - 1, 60)
    return float(min(settings.backoff_max_s, settings.backoff_base_s * 2**exponent))


@dataclass(frozen=True, slots=True)
class Attempt:
    outcome: Outcome
    status_code: int | None = None
    error: str | None = None
    retry_in_s: float | None = None


def judge(
    status_code: int | None,
    error: str | None,
    retry_after: float | None,
    attempts_made: int,
    settings: AlertSettings,
) -> Attempt:
    """What one try means: sent (2xx), retried later, or failed for good."""
    if status_code is not None and 200 <= status_code < 300:
        return Attempt("sent", status_code)
    retryable = status_code is None or status_code == 429 or status_code >= 500
    error = error or f"HTTP {status_code}"
    if not retryable or attempts_made >= settings.max_attempts:
        return Attempt("failed", status_code, error)
    delay = backoff_s(attempts_made, settings)
    if retry_after is not None:
        delay = min(retry_after, settings.backoff_max_s)
    return Attempt("retried", status_code, error, delay)


class Notifier:
    def __init__(
        self,
        settings: AlertSettings,
        sessions: async_sessionmaker[AsyncSession],
        metrics: AlertMetrics,
        client: httpx.AsyncClient,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._metrics = metrics
        self._client = client
        self._clock = clock
        self._wake = asyncio.Event()

    def kick(self) -> None:
        """Look for due notifications now rather than at the next poll."""
        self._wake.set()

    async def deliver_due(self) -> int:
        """One pass: claim due notifications, send them, record the outcomes. Returns how many."""
        async with self._sessions() as session, session.begin():
            due = await repository.claim_pending(session, self._settings.notify_batch)
            attempts = await asyncio.gather(*(self._send(row) for row in due))
            for row, attempt in zip(due, attempts, strict=True):
                await self._record(session, row, attempt)
        return len(due)

    async def _send(self, row: Mapping[str, Any]) -> Attempt | None:
        target = self._settings.webhooks.get(row["team"])
        if target is None:
            return None
        body = encode_body(row["payload"])
        timestamp = int(self._clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(target.secret.get_secret_value(), body, timestamp),
            DELIVERY_HEADER: str(row["id"]),
        }
        attempts_made = row["attempts"] + 1
        try:
            response = await self._client.post(
                str(target.url),
                content=body,
                headers=headers,
                timeout=self._settings.request_timeout_s,
            )
        except httpx.HTTPError as exc:
            return judge(None, type(exc).__name__, None, attempts_made, self._settings)
        wait = retry_after_s(response.headers.get("retry-after"), self._clock())
        return judge(response.status_code, None, wait, attempts_made, self._settings)

    async def _record(
        self, session: AsyncSession, row: Mapping[str, Any], attempt: Attempt | None
    ) -> None:
        fields = {"delivery_id": str(row["id"]), "team": row["team"], "change": row["event"]}
        if attempt is None:
            # The team's webhook was removed since the alert changed: nothing to send.
            await repository.skip(session, row["id"])
            log.info("alerts.notification_skipped", **fields)
            return
        status = {"sent": "delivered", "retried": "pending", "failed": "failed"}[attempt.outcome]
        await repository.record_attempt(
            session,
            row["id"],
            status=status,
            status_code=attempt.status_code,
            error=attempt.error,
            retry_in_s=attempt.retry_in_s,
        )
        self._metrics.notifications.labels(row["team"], row["event"], attempt.outcome).inc()
        event = f"alerts.notification_{attempt.outcome}"
        details = {"status_code": attempt.status_code, "attempt": row["attempts"] + 1}
        if attempt.outcome == "sent":
            log.info(event, **fields, **details)
        elif attempt.outcome == "retried":
            retry_in_s = attempt.retry_in_s
            log.warning(event, **fields, **details, error=attempt.error, retry_in_s=retry_in_s)
        else:
            log.error(event, **fields, **details, error=attempt.error)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; a pass that fails is logged and tried again."""
        while not stop.is_set():
            self._wake.clear()
            handled = 0
            try:
                handled = await self.deliver_due()
            except Exception:
                log.exception("alerts.notifier_failed")
            if handled >= self._settings.notify_batch:
                continue  # a full batch: more may be due right away
            waits = [asyncio.ensure_future(e.wait()) for e in (stop, self._wake)]
            _, pending = await asyncio.wait(
                waits, timeout=self._settings.notify_poll_s, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
