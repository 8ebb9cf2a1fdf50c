"""Yelp: review webhooks are notifications only; the review comes from the Yelp Fusion API.

Yelp does not sign webhooks, so the registered URL carries a token (Basic auth whose password
is the token, or `Authorization: Bearer <token>` from a proxy). When the URL is registered, Yelp
sends `GET ?verification=<string>` and expects the string echoed back as JSON. A delivery is
`{time, object: "business", data: {id: <business>, updates: [...]}}`: `NEW_REVIEW_EVENT` and
`REVIEW_EDITED_EVENT` queue a fetch of `GET /businesses/{id}/reviews` (newest first, paged until
the review turns up), `REVIEW_REMOVED_EVENT` removes the review from the scores. As in the bulk
importer, the review id is the source id and `time_created`, which Yelp gives as zone-less
Pacific time and moves when a review is edited, is both when it was given and its revision.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from services.reviews.models import ReviewIn
from shared.ingest.body import error_entry
from shared.ingest.errors import InvalidPayload
from shared.ingest.webhooks import (
    Deletion,
    Delivery,
    FetchFailed,
    FetchRequest,
    Ignored,
    Item,
    PendingFetch,
    UtcDatetime,
    VendorClient,
    WebhookAdapter,
    revision_of,
    validate,
    verify_token,
)

NEW = "NEW_REVIEW_EVENT"
EDITED = "REVIEW_EDITED_EVENT"
REMOVED = "REVIEW_REMOVED_EVENT"
YELP_ZONE = ZoneInfo("America/Los_Angeles")
PAGE_SIZE = 50  # Fusion's largest page
# Fusion lists reviews in one language per locale; the webhook says which one the review is in.
LOCALES = {
    "da": "da_DK",
    "de": "de_DE",
    "en": "en_US",
    "es": "es_ES",
    "fi": "fi_FI",
    "fr": "fr_FR",
    "it": "it_IT",
    "ja": "ja_JP",
    "nl": "nl_NL",
    "no": "nb_NO",
    "pl": "pl_PL",
    "pt": "pt_BR",
    "sv": "sv_SE",
    "tr": "tr_TR",
    "zh": "zh_HK",
}
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class _Update(BaseModel):
    event_type: str
    review_id: str | None = None  # absent from other products' events (leads)
    rating: float | None = None
    language: str | None = None
    user_id: str | None = None


class _Data(BaseModel):
    id: str
    updates: list[_Update] = Field(default_factory=list)


class _Notification(BaseModel):
    time: UtcDatetime
    object: str
    data: _Data


class _User(BaseModel):
    id: str | None = None
    name: str | None = None


class _Review(BaseModel):
    id: str
    rating: float
    text: str | None = None
    time_created: str
    url: str | None = None
    user: _User | None = None


class _Page(BaseModel):
    reviews: list[dict[str, Any]] = Field(default_factory=list)
    total: int | None = None


def pacific(value: str, loc: Sequence[str | int]) -> datetime:
    """Yelp's zone-less 'YYYY-MM-DD HH:MM:SS' Pacific time, in UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidPayload(
            [error_entry(list(loc), f"not a time: {value!r}", "datetime_parsing")]
        ) from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=YELP_ZONE)).astimezone(UTC)


class YelpAdapter(WebhookAdapter):
    vendor = "yelp"
    fetches = True
    default_base_url = "https://api.yelp.com/v3"

    def __init__(self, *, max_pages: int = 4) -> None:
        self.max_pages = max_pages  # an edit of an old review may sit far down the list

    def verify(self, delivery: Delivery, secret: str) -> None:
        verify_token(delivery.headers, secret)

    def handshake(self, delivery: Delivery, secret: str) -> dict[str, Any] | None:
        challenge = delivery.query.get("verification", "")
        if not _CHALLENGE.match(challenge):
            raise InvalidPayload(
                [error_entry(["query", "verification"], "expected Yelp's string", "missing")]
            )
        return {"verification": challenge}

    def parse(self, delivery: Delivery) -> Sequence[Item]:
        note = validate(_Notification, delivery.json())
        if note.object != "business":
            return [Ignored(f"object {note.object}")]
        business = note.data.id
        items: list[Item] = []
        for index, update in enumerate(note.data.updates):
            if update.event_type not in (NEW, EDITED, REMOVED):
                items.append(Ignored(f"event_type {update.event_type}"))
                continue
            if not update.review_id:
                loc = ["body", "data", "updates", index, "review_id"]
                raise InvalidPayload([error_entry(loc, "Field required", "missing")])
            if update.event_type == REMOVED:
                items.append(
                    Deletion(
                        source_id=update.review_id,
                        revision=revision_of(note.time),
                        occurred_at=note.time,
                    )
                )
            else:
                params = {"business_id": business, "review_id": update.review_id}
                if update.language:
                    params["language"] = update.language
                items.append(
                    FetchRequest(
                        source_id=update.review_id,
                        # Yelp names no delivery; a retry repeats `time`, a later edit does not.
                        delivery_id=f"{update.event_type}:{note.time.isoformat()}",
                        params=params,
                    )
                )
        return items or [Ignored("no updates")]

    async def fetch(self, client: VendorClient, pending: PendingFetch) -> Sequence[Item]:
        business = pending.params["business_id"]
        path = f"businesses/{urllib.parse.quote(business, safe='')}/reviews"
        query = {"sort_by": "newest", "limit": str(PAGE_SIZE)}
        locale = LOCALES.get(pending.params.get("language", ""))
        if locale:
            query["locale"] = locale
        for page in range(self.max_pages):
            doc = await client.get_json(path, params={**query, "offset": str(page * PAGE_SIZE)})
            listed = validate(_Page, doc, loc=("fetched",))
            for index, raw in enumerate(listed.reviews):
                if raw.get("id") == pending.source_id:
                    review = validate(_Review, raw, loc=("fetched", "reviews", index))
                    return [self._item(review, business, pending.envelope, raw)]
            seen = (page + 1) * PAGE_SIZE
            if not listed.reviews or (listed.total is not None and seen >= listed.total):
                break
        # Not (yet) listed: dead-lettered, so an operator can replay it once Yelp shows it.
        raise FetchFailed("review_not_listed", retryable=True)

    def _item(self, review: _Review, business: str, envelope: Any, raw: Any) -> ReviewIn:
        created = pacific(review.time_created, ("fetched", "time_created"))
        # Fusion types the rating as a number: a whole 4.0 is 4 stars, 3.5 fails validation
        # and the envelope is dead-lettered as invalid.
        stars = int(review.rating) if review.rating.is_integer() else review.rating
        return ReviewIn(
            source=self.vendor,
            source_id=review.id,
            occurred_at=created,
            revision=revision_of(created),
            platform=self.vendor,
            stars=stars,  # type: ignore[arg-type]
            body=review.text.strip() or None if review.text else None,
            metadata={
                "url": review.url,
                "business_id": business,
                "raw": {"webhook": envelope, "fetched": raw},
            },
        )
