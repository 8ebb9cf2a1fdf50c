"""Intercom: `notification_event` webhooks whose `data.item` is a Conversation.

Signed with `X-Hub-Signature: sha1=` + hex HMAC-SHA1(the app's client secret, body). Intercom
re-delivers a failed notification with the same notification id and payload, so its event id
repeats. A conversation notification carries the whole conversation: the conversation id is
the source id, and the revision is the latest of its `updated_at`, its rating's `updated_at` and
the notification's `created_at`, so that a rating which does not touch the conversation's own
`updated_at` still makes a newer version. `conversation_rating.rating` (1–5) is the CSAT.
`conversation.deleted` (an id only) is a tombstone; other topics (`ping`, contacts, tickets)
are acknowledged and ignored.

The text is what the customer wrote: the opening message when a contact started the
conversation, else the contact's comments included in the notification; HTML becomes text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.tickets.adapters.fields import (
    BODY_MAX,
    SUBJECT_MAX,
    Id,
    OptionalId,
    Text,
    clip,
    clip_tags,
    html_to_text,
    lower,
    tombstone_revision,
)
from services.tickets.models import TicketIn
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
    verify_signature,
)

SIGNATURE = "x-hub-signature"
DELETED_TOPIC = "conversation.deleted"
CONTACT_TYPES = {"user", "lead", "contact"}


class _Data(BaseModel):
    item: dict[str, Any]


class _Notification(BaseModel):
    type: str
    id: str
    topic: str
    created_at: UtcDatetime
    data: _Data


class _Author(BaseModel):
    type: str | None = None
    id: OptionalId = None


class _Source(BaseModel):
    type: str | None = None
    delivered_as: str | None = None
    subject: Text = None
    body: Text = None
    author: _Author | None = None


class _Part(BaseModel):
    part_type: str | None = None
    body: Text = None
    author: _Author | None = None


class _Parts(BaseModel):
    conversation_parts: list[_Part] = Field(default_factory=list)


class _Tag(BaseModel):
    name: str


class _Tags(BaseModel):
    tags: list[_Tag] = Field(default_factory=list)


class _Rating(BaseModel):
    rating: int | None = None
    remark: Text = None
    updated_at: UtcDatetime | None = None


class _Statistics(BaseModel):
    time_to_admin_reply: float | None = None
    time_to_last_close: float | None = None


class _Conversation(BaseModel):
    id: Id
    created_at: UtcDatetime
    updated_at: UtcDatetime
    title: Text = None
    state: str | None = None
    priority: str | None = None
    source: _Source | None = None
    # API 2.0 lists contacts directly; later versions wrap them in a `contact.list`.
    contacts: list[_Author] | dict[str, Any] | None = None
    tags: _Tags | None = None
    conversation_rating: _Rating | None = None
    statistics: _Statistics | None = None
    conversation_parts: _Parts | None = None
    admin_assignee_id: OptionalId = None
    team_assignee_id: OptionalId = None


class _Deleted(BaseModel):
    id: Id


def _contact_id(conversation: _Conversation) -> str | None:
    contacts = conversation.contacts
    if isinstance(contacts, dict):
        listed = contacts.get("contacts") or []
        contacts = [_Author.model_validate(c) for c in listed if isinstance(c, dict)]
    for contact in contacts or []:
        if contact.id:
            return contact.id
    author = conversation.source.author if conversation.source else None
    return author.id if author and author.type in CONTACT_TYPES else None


def _customer_text(conversation: _Conversation) -> str | None:
    source = conversation.source
    if source and (source.author is None or source.author.type in CONTACT_TYPES):
        return html_to_text(source.body)
    # Admin-initiated: the opening message is ours, the customer's words are in the replies.
    parts = (
        conversation.conversation_parts.conversation_parts
        if conversation.conversation_parts
        else []
    )
    texts = [
        html_to_text(p.body)
        for p in parts
        if p.part_type == "comment" and p.author and p.author.type in CONTACT_TYPES
    ]
    joined = "\n\n".join(t for t in texts if t)
    return joined or None


class IntercomAdapter(WebhookAdapter):
    vendor = "intercom"

    def verify(self, delivery: Delivery, secret: str) -> None:
        verify_signature(
            delivery.headers.get(SIGNATURE),
            secret=secret,
            message=delivery.body,
            algorithm="sha1",
            encoding="hex",
            prefix="sha1=",
        )

    def parse(self, delivery: Delivery) -> Sequence[Item]:
        note = validate(_Notification, delivery.json())
        item = note.data.item
        if note.topic == DELETED_TOPIC:
            deleted = validate(_Deleted, item, loc=("body", "data", "item"))
            return [
                Deletion(
                    source_id=deleted.id,
                    revision=tombstone_revision(note.created_at),
                    occurred_at=note.created_at,
                )
            ]
        if item.get("type") != "conversation":
            return [Ignored(f"topic {note.topic}")]
        conversation = validate(_Conversation, item, loc=("body", "data", "item"))
        return [self._ticket(conversation, note)]

    def _ticket(self, conversation: _Conversation, note: _Notification) -> TicketIn:
        rating = conversation.conversation_rating or _Rating()
        stats = conversation.statistics or _Statistics()
        source = conversation.source or _Source()
        moments: list[datetime] = [conversation.updated_at, note.created_at]
        if rating.updated_at is not None:
            moments.append(rating.updated_at)
        tags = conversation.tags.tags if conversation.tags else []
        subject = conversation.title or html_to_text(source.subject)
        return TicketIn(
            source=self.vendor,
            source_id=conversation.id,
            occurred_at=conversation.created_at,
            revision=revision_of(max(moments)),
            customer=Customer(id=_contact_id(conversation)),
            channel=source.type,
            subject=clip(subject, SUBJECT_MAX),
            body=clip(_customer_text(conversation), BODY_MAX),
            status=lower(conversation.state),
            priority=lower(conversation.priority),
            tags=clip_tags(t.name for t in tags),
            csat=rating.rating,
            first_response_seconds=stats.time_to_admin_reply,
            resolution_seconds=stats.time_to_last_close,
            metadata={
                k: v
                for k, v in {
                    "vendor_event_id": note.id,
                    "topic": note.topic,
                    "delivered_as": source.delivered_as,
                    "satisfaction_comment": rating.remark,
                    "admin_assignee_id": conversation.admin_assignee_id,
                    "team_assignee_id": conversation.team_assignee_id,
                }.items()
                if v is not None
            },
        )
