"""Trustpilot: service-review webhooks, a batch of `events[]` per delivery.

Trustpilot does not sign webhooks, so the subscription URL carries a token: Basic auth whose
password is the token (`https://voc:<token>@host/v1/webhooks/trustpilot`) or, from a proxy,
`Authorization: Bearer <token>`. Each event is `{eventName, version, eventData}`:
`service-review-created` and `-updated` carry the review (id, stars, title, text, language,
createdAt, consumer, tags...), `service-review-deleted` only its id and removes it from the
scores. The revision is the review's `updatedAt` when Trustpilot sends one, else `createdAt` for
a new review; an update or deletion without a timestamp of its own is versioned by the time we
received it, so it always supersedes what came before (a retried one then replaces itself with
the same content, which changes nothing in the scores). Other events (product reviews) are
acknowledged and ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from services.reviews.models import ReviewIn
from shared.events import Customer
from shared.ingest.webhooks import (
    Deletion,
    Delivery,
    Ignored,
    Item,
    UtcDatetime,
    WebhookAdapter,
    revision_of,
    validate,
    verify_token,
)

CREATED = "service-review-created"
UPDATED = "service-review-updated"
DELETED = "service-review-deleted"

Id = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)]


class _Consumer(BaseModel):
    id: Id | None = None
    name: str | None = None


class _Tag(BaseModel):
    group: str | None = None
    value: str | None = None


class _Review(BaseModel):
    id: Id
    stars: int
    title: str | None = None
    text: str | None = None
    language: str | None = None
    referenceId: str | None = None
    locationId: str | None = None
    isVerified: bool | None = None
    link: str | None = None
    createdAt: UtcDatetime
    updatedAt: UtcDatetime | None = None
    consumer: _Consumer | None = None
    tags: list[_Tag] = Field(default_factory=list)


class _Removed(BaseModel):
    id: Id
    deletedAt: UtcDatetime | None = None
    updatedAt: UtcDatetime | None = None


class _Event(BaseModel):
    eventName: str
    version: str | None = None
    eventData: dict[str, Any]


class _Batch(BaseModel):
    events: list[dict[str, Any]] = Field(min_length=1)


def _clean(text: str | None) -> str | None:
    return text.strip() or None if text else None


class TrustpilotAdapter(WebhookAdapter):
    vendor = "trustpilot"

    def verify(self, delivery: Delivery, secret: str) -> None:
        verify_token(delivery.headers, secret)

    def parse(self, delivery: Delivery) -> Sequence[Item]:
        batch = validate(_Batch, delivery.json())
        return [
            self._item(raw, delivery.received_at, ("body", "events", index))
            for index, raw in enumerate(batch.events)
        ]

    def _item(self, raw: dict[str, Any], received_at: datetime, loc: tuple[Any, ...]) -> Item:
        event = validate(_Event, raw, loc=loc)
        data_loc = (*loc, "eventData")
        if event.eventName == DELETED:
            removed = validate(_Removed, event.eventData, loc=data_loc)
            when = removed.deletedAt or removed.updatedAt or received_at
            return Deletion(
                source_id=removed.id, revision=revision_of(when), occurred_at=when, raw=raw
            )
        if event.eventName not in (CREATED, UPDATED):
            return Ignored(f"eventName {event.eventName}")
        review = validate(_Review, event.eventData, loc=data_loc)
        if review.updatedAt is not None:
            revised = review.updatedAt
        else:
            revised = review.createdAt if event.eventName == CREATED else received_at
        consumer = review.consumer.id if review.consumer else None
        return ReviewIn(
            source=self.vendor,
            source_id=review.id,
            occurred_at=review.createdAt,
            revision=revision_of(revised),
            platform=self.vendor,
            stars=review.stars,
            title=_clean(review.title),
            body=_clean(review.text),
            language=review.language,
            customer=Customer(id=consumer) if consumer else None,
            metadata={
                # The order or customer reference the invitation carried: joins back to ours.
                "reference_id": review.referenceId,
                "location_id": review.locationId,
                "verified": review.isVerified,
                "link": review.link,
                "tags": [t.value for t in review.tags if t.value],
                "raw": raw,
            },
        )
