"""Zendesk: event-subscription webhooks, one `zen:event-type:ticket.*` event per delivery.

Signed with `X-Zendesk-Webhook-Signature` = base64 HMAC-SHA256(signing secret, TIMESTAMP ‖ BODY),
TIMESTAMP being `X-Zendesk-Webhook-Signature-Timestamp`, which must lie within the replay window.
The signing secret is used as given, not base64-decoded. Zendesk's docs once disagreed on the
order (an older version of "Verifying webhook authenticity" gave BODY ‖ TIMESTAMP, with an
example signed that way); the current page, its code example and independent client libraries
(one with a captured delivery, among the tests' vectors) use TIMESTAMP ‖ BODY, so that is the
only order accepted.
`VOC_WEBHOOK_SECRET_ZENDESK` may hold several secrets separated by spaces or commas: every
Zendesk webhook has a secret of its own, and a reset one takes effect at once.

Every ticket event carries the ticket as it is after the change (`detail`), so each becomes a
full version of the ticket: `detail.id` is the source id and `detail.updated_at` the revision, as
in the Zendesk importer, so one action's several events and Zendesk's retries share one event
id. Soft or permanent deletion and spam are tombstones; an undelete brings the ticket back.
Event payloads carry no satisfaction rating, so CSAT comes from tags that Zendesk triggers add
when a rating arrives (`TICKETS_ZENDESK_CSAT_TAGS`, e.g. `voc_csat_good` → 5, `voc_csat_bad` →
1, as the importer maps good/bad): a tag change is itself an event, and the tag stays on the
ticket, so every later version keeps its CSAT.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from services.tickets.adapters.fields import (
    BODY_MAX,
    SUBJECT_MAX,
    Id,
    OptionalId,
    clip,
    clip_tags,
    lower,
    tombstone_revision,
)
from services.tickets.models import TicketIn
from shared.events import Customer
from shared.ingest.webhooks import (
    AuthFailure,
    Deletion,
    Delivery,
    Ignored,
    Item,
    UtcDatetime,
    WebhookAdapter,
    revision_of,
    validate,
    verify_timestamped_signature,
)

SIGNATURE = "x-zendesk-webhook-signature"
TIMESTAMP = "x-zendesk-webhook-signature-timestamp"
TICKET_EVENT = "zen:event-type:ticket."
DELETED = {"soft_deleted", "permanently_deleted", "marked_as_spam"}
UNDELETED = "undeleted"
_SECRET_SEPARATORS = re.compile(r"[\s,]+")


class _Event(BaseModel):
    type: str
    id: str | None = None
    time: UtcDatetime | None = None
    detail: dict[str, Any] | None = None


class _Via(BaseModel):
    channel: str | None = None


class _TicketRef(BaseModel):
    id: Id
    updated_at: UtcDatetime | None = None


class _Ticket(_TicketRef):
    created_at: UtcDatetime
    updated_at: UtcDatetime
    subject: str | None = None
    description: str | None = None
    status: str | None = None
    priority: str | None = None
    type: str | None = None
    tags: list[str] | None = None
    requester_id: OptionalId = None
    organization_id: OptionalId = None
    brand_id: OptionalId = None
    group_id: OptionalId = None
    form_id: OptionalId = None
    custom_status: OptionalId = None
    via: _Via | None = None


def signing_secrets(secret: str) -> list[str]:
    return [s for s in _SECRET_SEPARATORS.split(secret) if s]


class ZendeskAdapter(WebhookAdapter):
    vendor = "zendesk"

    def __init__(self, csat_tags: Mapping[str, int] | None = None) -> None:
        self.csat_tags = dict(csat_tags or {})

    def verify(self, delivery: Delivery, secret: str) -> None:
        for key in signing_secrets(secret):
            try:
                verify_timestamped_signature(
                    delivery.headers.get(SIGNATURE),
                    delivery.headers.get(TIMESTAMP),
                    secret=key,
                    body=delivery.body,
                    now=delivery.received_at,
                    tolerance_s=delivery.tolerance_s,
                )
                return
            except AuthFailure as exc:
                # A missing header or a stale (but genuine) timestamp fails for every key alike.
                if exc.reason != "bad_signature":
                    raise
        raise AuthFailure("bad_signature")

    def parse(self, delivery: Delivery) -> Sequence[Item]:
        event = validate(_Event, delivery.json())
        if not event.type.startswith(TICKET_EVENT):
            return [Ignored(f"event type {event.type}")]
        action = event.type.removeprefix(TICKET_EVENT)
        detail = event.detail or {}
        # The importer skips tickets in status "deleted"; an event about one removes it too.
        if action in DELETED or lower(str(detail.get("status") or "")) == "deleted":
            ref = validate(_TicketRef, detail, loc=("body", "detail"))
            when = event.time or ref.updated_at or delivery.received_at
            return [
                Deletion(
                    source_id=ref.id,
                    revision=tombstone_revision(when, ref.updated_at),
                    occurred_at=when,
                )
            ]
        ticket = validate(_Ticket, detail, loc=("body", "detail"))
        revision = revision_of(ticket.updated_at)
        if action == UNDELETED:
            # Back after its tombstone, which was stamped just after the deletion.
            revision = tombstone_revision(event.time, ticket.updated_at)
        return [self._ticket(ticket, event, action, revision)]

    def _ticket(self, ticket: _Ticket, event: _Event, action: str, revision: str) -> TicketIn:
        tags = clip_tags(ticket.tags or [])
        return TicketIn(
            source=self.vendor,
            source_id=ticket.id,
            occurred_at=ticket.created_at,
            revision=revision,
            customer=Customer(id=ticket.requester_id),
            channel=ticket.via.channel if ticket.via else None,
            subject=clip(ticket.subject, SUBJECT_MAX),
            body=clip(ticket.description, BODY_MAX),
            status=lower(ticket.status),
            priority=lower(ticket.priority),
            tags=tags,
            csat=self._csat(tags),
            metadata={
                k: v
                for k, v in {
                    "vendor_event_id": event.id,
                    "event_type": action,
                    "type": lower(ticket.type),
                    "brand_id": ticket.brand_id,
                    "group_id": ticket.group_id,
                    "organization_id": ticket.organization_id,
                    "form_id": ticket.form_id,
                    "custom_status": ticket.custom_status,
                }.items()
                if v is not None
            },
        )

    def _csat(self, tags: list[str]) -> int | None:
        scores = [self.csat_tags[t] for t in tags if t in self.csat_tags]
        # Both tags only when a trigger forgot to remove the other one: trust the worse.
        return min(scores) if scores else None
