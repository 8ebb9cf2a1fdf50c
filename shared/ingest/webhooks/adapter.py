"""The adapter contract: what a vendor module implements, and the values it hands back.

See the package docstring (`shared.ingest.webhooks`) for how to write one.
"""

from __future__ import annotations

import urllib.parse
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from shared.ingest.body import error_entry, validation_errors
from shared.ingest.errors import InvalidPayload
from shared.ingest.models import IngestItem

if TYPE_CHECKING:
    from shared.ingest.webhooks.fetch import VendorClient
    from shared.ingest.webhooks.pending import PendingFetch

M = TypeVar("M", bound=BaseModel)
JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded",)


@dataclass(frozen=True)
class Delivery:
    """One HTTP request from a vendor, body unparsed until the adapter asks."""

    vendor: str
    method: str
    headers: Mapping[str, str]  # case-insensitive (starlette Headers)
    query: Mapping[str, str]
    body: bytes
    received_at: datetime
    tolerance_s: float = 300.0  # the replay window for timestamped signatures

    def json(self) -> Any:
        """The body as JSON; 422 when it is not."""
        return load_json(self.body)

    def form(self) -> dict[str, str]:
        """The body as `application/x-www-form-urlencoded` fields (first value wins)."""
        try:
            pairs = urllib.parse.parse_qsl(
                self.body.decode(), keep_blank_values=True, strict_parsing=False
            )
        except UnicodeDecodeError as exc:
            raise InvalidPayload(
                [error_entry(["body"], "form body is not UTF-8", "form_invalid")]
            ) from exc
        fields: dict[str, str] = {}
        for key, value in pairs:
            fields.setdefault(key, value)
        return fields

    def document(self) -> Any:
        """The body as data, for keeping the raw payload in the event: JSON or form fields."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return self.form()


def load_json(data: bytes | str, loc: Sequence[str | int] = ("body",)) -> Any:
    """JSON from the body or from a field of it (Qualtrics' MSG); 422 at `loc` when invalid."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidPayload(
            [error_entry(list(loc), f"invalid JSON: {exc}", "json_invalid")]
        ) from exc


def validate(model: type[M], doc: Any, loc: Sequence[str | int] = ("body",)) -> M:
    """`doc` as a vendor model; 422 naming the vendor's field (e.g. `body.form_response.token`).

    Vendor models should ignore unknown fields: vendors add fields without notice.
    """
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise InvalidPayload(validation_errors(list(loc), exc)) from exc


@dataclass(frozen=True)
class Deletion:
    """The vendor deleted the item: a tombstone version that removes it from the scores."""

    source_id: str
    revision: str  # newer than any version we published, usually the deletion time
    occurred_at: datetime
    raw: Any = None  # this item's part of the payload; the whole delivery when None


@dataclass(frozen=True)
class FetchRequest:
    """The webhook is an envelope only: fetch the details later (the fetch worker does)."""

    source_id: str
    delivery_id: str  # the vendor's id of this notification
    params: dict[str, str] = field(default_factory=dict)  # what `fetch` needs to find it


@dataclass(frozen=True)
class Ignored:
    """A genuine delivery we do not score (a partial response, an unsubscribe...)."""

    reason: str


Item = IngestItem | Deletion | FetchRequest | Ignored


class WebhookAdapter(ABC):
    """One vendor: verify its deliveries, parse them into canonical items."""

    vendor: ClassVar[str]  # URL segment, `source` of its items, and secret name
    media_types: ClassVar[tuple[str, ...]] = JSON_TYPES
    fetches: ClassVar[bool] = False  # True: needs `webhooks.fetch.<vendor>` and implements fetch
    default_base_url: ClassVar[str | None] = None

    @abstractmethod
    def verify(self, delivery: Delivery, secret: str) -> None:
        """Raise AuthFailure unless the raw delivery is provably from the vendor."""

    @abstractmethod
    def parse(self, delivery: Delivery) -> Sequence[Item]:
        """The delivery's items. Canonical models are built with `source = vendor`."""

    def handshake(self, delivery: Delivery, secret: str) -> dict[str, Any] | None:
        """Answer to a GET/HEAD (challenge-response, URL checks); None: not supported (405)."""
        return None

    def fetch_headers(self, token: str) -> dict[str, str]:
        """How the vendor API wants the token."""
        return {"Authorization": f"Bearer {token}"}

    async def fetch(self, client: VendorClient, pending: PendingFetch) -> Sequence[Item]:
        """Fetch-step vendors: the items behind a queued envelope."""
        raise NotImplementedError(f"{self.vendor} does not fetch")
