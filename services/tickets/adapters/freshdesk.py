"""Freshdesk: automation-rule webhooks with an admin-defined JSON body.

Freshdesk does not sign webhooks; the rule's "Requires authentication" sends the token as the
Basic-auth password (or a custom `Authorization: Bearer` header). The body is the common
`{"freshdesk_webhook": {"ticket_id": "{{ticket.id}}", "ticket_subject": ..., ...}}` shape
(README), where unknown keys are kept in the raw payload and ignored. Status, priority and
source come as names (`Pending`) or as Freshdesk's codes (status 2 open, 3 pending, 4 resolved,
5 closed; priority 1 low … 4 urgent) and are mapped to lower-case names either way.

Freshdesk renders no updated-at placeholder a revision could use, so the revision is a digest
of the ticket's mapped fields: a retried delivery (or a second rule sending the same state)
gets the same event id, and a change gets another one. Such revisions do not order by time, so
downstream the version received last wins. `ticket_created_at` (`{{ticket.created_on}}`,
zone-less in the helpdesk's time zone, `TICKETS_FRESHDESK_TIME_ZONE`) is when the ticket was
raised; without it, the delivery's arrival. A rule that fires on deletion or spam can send
`"ticket_deleted": true` for a tombstone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, BeforeValidator

from services.tickets.adapters.fields import (
    BODY_MAX,
    SUBJECT_MAX,
    Id,
    OptionalId,
    Text,
    clip,
    clip_tags,
    html_to_text,
)
from services.tickets.models import TicketIn
from shared.events import Customer
from shared.ingest.body import error_entry
from shared.ingest.errors import InvalidPayload
from shared.ingest.webhooks import (
    Deletion,
    Delivery,
    Item,
    WebhookAdapter,
    to_utc,
    validate,
    verify_token,
)

STATUS = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
PRIORITY = {1: "low", 2: "medium", 3: "high", 4: "urgent"}
SOURCE = {
    1: "email",
    2: "portal",
    3: "phone",
    7: "chat",
    9: "feedback_widget",
    10: "outbound_email",
}
LOC = ("body", "freshdesk_webhook")

Code = Annotated[str | None, BeforeValidator(lambda v: None if v in ("", None) else str(v))]


class _Ticket(BaseModel):
    ticket_id: Id
    ticket_subject: Text = None
    ticket_description: Text = None
    ticket_status: Code = None
    ticket_priority: Code = None
    ticket_source: Code = None
    ticket_type: Text = None
    ticket_tags: str | list[str] | None = None
    ticket_created_at: Text = None
    requester_id: OptionalId = None
    ticket_deleted: Annotated[bool, BeforeValidator(lambda v: v or False)] = False
    triggered_event: Text = None


class _Delivery(BaseModel):
    freshdesk_webhook: _Ticket


def label(value: str | None, codes: Mapping[int, str], kind: str) -> str | None:
    """A Freshdesk code or display name as a lower-case name (`Waiting on Customer` too)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return codes.get(int(text), f"{kind}_{text}")  # custom statuses are numbered from 6
    return "_".join(text.lower().split())


def _tags(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    # `{{ticket.tags}}` renders as one comma-separated string.
    return clip_tags(value.split(",") if isinstance(value, str) else value)


def _digest(fields: Mapping[str, Any]) -> str:
    canonical = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return "sha256:" + hashlib.sha256(canonical).hexdigest()[:32]


class FreshdeskAdapter(WebhookAdapter):
    vendor = "freshdesk"

    def __init__(self, time_zone: tzinfo = UTC) -> None:
        self.time_zone = time_zone  # of Freshdesk's zone-less placeholder times

    def verify(self, delivery: Delivery, secret: str) -> None:
        verify_token(delivery.headers, secret)

    def parse(self, delivery: Delivery) -> Sequence[Item]:
        ticket = validate(_Delivery, delivery.json()).freshdesk_webhook
        created = self._created_at(ticket.ticket_created_at)
        fields: dict[str, Any] = {
            "subject": clip(html_to_text(ticket.ticket_subject), SUBJECT_MAX),
            "body": clip(html_to_text(ticket.ticket_description), BODY_MAX),
            "status": label(ticket.ticket_status, STATUS, "status"),
            "priority": label(ticket.ticket_priority, PRIORITY, "priority"),
            "channel": label(ticket.ticket_source, SOURCE, "source"),
            "tags": _tags(ticket.ticket_tags),
            "type": label(ticket.ticket_type, {}, "type"),
            "requester_id": ticket.requester_id,
            "created_at": created.isoformat() if created else None,
            "deleted": ticket.ticket_deleted,
        }
        revision = _digest(fields)
        if ticket.ticket_deleted:
            return [
                Deletion(
                    source_id=ticket.ticket_id,
                    revision=revision,
                    occurred_at=created or delivery.received_at,
                )
            ]
        metadata = {"type": fields["type"], "triggered_event": ticket.triggered_event}
        return [
            TicketIn(
                source=self.vendor,
                source_id=ticket.ticket_id,
                occurred_at=created or delivery.received_at,
                revision=revision,
                customer=Customer(id=ticket.requester_id),
                channel=fields["channel"],
                subject=fields["subject"],
                body=fields["body"],
                status=fields["status"],
                priority=fields["priority"],
                tags=fields["tags"],
                metadata={k: v for k, v in metadata.items() if v is not None},
            )
        ]

    def _created_at(self, text: str | None) -> datetime | None:
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            moment = None
        try:
            if moment is not None and moment.tzinfo is None:
                return moment.replace(tzinfo=self.time_zone).astimezone(UTC)
            return to_utc(text)
        except ValueError as exc:
            raise InvalidPayload(
                [error_entry([*LOC, "ticket_created_at"], str(exc), "datetime_parsing")]
            ) from exc
