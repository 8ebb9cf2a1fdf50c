"""The HTTP client of one canonical ingestion endpoint: a batch in, the service's verdict out.

A batch is re-sent as is when the service cannot take it now (503 broker unavailable, 429, other
5xx, network errors), after the server's Retry-After or an exponential backoff. Re-sending is
safe: items have deterministic event ids, so a batch that did land twice changes nothing.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
import structlog

from services.importer.errors import ServiceError
from services.importer.settings import RetrySettings

log = structlog.get_logger(__name__)

RETRYABLE = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Accepted:
    event_ids: list[str]


@dataclass(frozen=True)
class Invalid:
    """422: reasons per item index of the batch, and any that name no item."""

    by_index: dict[int, list[str]]
    general: list[str]


@dataclass(frozen=True)
class TooLarge:
    detail: str


Outcome = Accepted | Invalid | TooLarge


class IngestClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        path: str,
        retry: RetrySettings,
        *,
        request_id: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.http = http
        self.path = path
        self.retry = retry
        self.headers = {"content-type": "application/json"}
        if request_id:
            # Becomes every event's correlation_id: one import run can be found downstream.
            self.headers["x-request-id"] = request_id
        self.sleep = sleep
        self.jitter = jitter
        self.retries = 0

    async def check(self) -> None:
        """Fail fast when nothing listens at the base URL (a typo, or the stack is not up).

        Only an unreachable service fails here; any answer, even 503 (broker not connected
        yet), means a service is there and the batches' retries take it from there.
        """
        try:
            await self.http.get("/healthz")
        except httpx.TransportError as exc:
            raise ServiceError(
                f"no ingestion service answers at {self.http.base_url}: {type(exc).__name__}: {exc}"
            ) from exc

    async def send(self, items: list[bytes]) -> Outcome:
        """POST the JSON-encoded `items` as one array; raise ServiceError when it cannot land."""
        body = b"[" + b",".join(items) + b"]"
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                response = await self.http.post(self.path, content=body, headers=self.headers)
            except httpx.TransportError as exc:
                problem, wait = f"{type(exc).__name__}: {exc}", self._backoff(attempt)
            else:
                status = response.status_code
                if status == 202:
                    return Accepted([str(i) for i in response.json()["event_ids"]])
                if status == 422:
                    return Invalid(*reasons_by_index(_error(response)[1]))
                if status == 413:
                    return TooLarge(str(_error(response)[1]))
                if status not in RETRYABLE:
                    code, detail = _error(response)
                    raise ServiceError(f"POST {self.path} answered {status} {code}: {detail}")
                problem = f"{status} {_error(response)[0]}"
                asked = retry_after(response.headers.get("retry-after"))
                wait = asked if asked is not None else self._backoff(attempt)
            if attempt == self.retry.max_attempts:
                break
            self.retries += 1
            log.warning("import.retrying", path=self.path, problem=problem, wait_s=round(wait, 2))
            await self.sleep(wait)
        raise ServiceError(
            f"POST {self.path} failed {self.retry.max_attempts} times, last: {problem}"
        )

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.retry.backoff_max_s, self.retry.backoff_initial_s * 2 ** (attempt - 1))
        # Jitter in the upper half: importers started together do not retry in lockstep.
        return ceiling * (0.5 + 0.5 * self.jitter())


def _error(response: httpx.Response) -> tuple[str, Any]:
    """The `{"error", "detail"}` of an error answer, or the status text and raw body."""
    try:
        doc = response.json()
    except ValueError:
        doc = None
    if isinstance(doc, dict) and "error" in doc:
        return str(doc["error"]), doc.get("detail")
    return response.reason_phrase or "error", response.text[:200]


def reasons_by_index(detail: Any) -> tuple[dict[int, list[str]], list[str]]:
    """Map a 422 detail (`[{loc: ["body", i, field...], msg}]`) to reasons per item index."""
    by_index: dict[int, list[str]] = defaultdict(list)
    general: list[str] = []
    for entry in detail if isinstance(detail, list) else [detail]:
        if not isinstance(entry, dict):
            general.append(str(entry))
            continue
        loc = entry.get("loc") or []
        msg = str(entry.get("msg") or entry.get("type") or "invalid")
        index = _index(loc)
        if index is None:
            general.append(msg)
            continue
        field = ".".join(str(part) for part in loc[2:])
        by_index[index].append(f"{field}: {msg}" if field else msg)
    return dict(by_index), general


def _index(loc: list[Any]) -> int | None:
    if len(loc) < 2 or loc[0] != "body":
        return None
    index = loc[1]
    if isinstance(index, int) and not isinstance(index, bool):
        return index
    return int(index) if isinstance(index, str) and index.isdigit() else None


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), None if absent."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def encode(item: dict[str, Any]) -> bytes:
    return orjson.dumps(item)
