"""Mastodon: an instance's admin webhooks (`status.created`, `status.updated`).

Set up under Administration > Webhooks with the secret `VOC_WEBHOOK_SECRET_MASTODON`; Mastodon
signs each POST with `X-Hub-Signature: sha256=` + hex HMAC-SHA256(secret, body). The body is
`{event, created_at, object}` with a REST Status as `object` (default payload template only).
The status `uri` is the source id: ids are per instance, the URI is the same everywhere.
`edited_at`, else `created_at`, is the revision, so an edit replaces the earlier text. The
content is HTML and is reduced to plain text. Reblogs, posts outside the configured visibilities
(by default only public and unlisted ones: followers-only posts and DMs stay private) and other
events (accounts, reports) are acknowledged and ignored. Mastodon sends no webhook for deletes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from pydantic import BaseModel, Field

from services.social.adapters.html import html_to_text
from services.social.models import PostIn
from shared.events import Customer, Engagement
from shared.ingest.webhooks import (
    Delivery,
    Ignored,
    Item,
    UtcDatetime,
    WebhookAdapter,
    revision_of,
    validate,
    verify_signature,
)

STATUS_EVENTS = ("status.created", "status.updated")
DEFAULT_VISIBILITIES = ("public", "unlisted")


class _Account(BaseModel):
    id: str
    acct: str
    url: str | None = None
    followers_count: int | None = None
    bot: bool = False


class _Tag(BaseModel):
    name: str


class _Status(BaseModel):
    id: str
    uri: str
    url: str | None = None
    created_at: UtcDatetime
    edited_at: UtcDatetime | None = None
    account: _Account
    content: str = ""
    spoiler_text: str = ""
    visibility: str = "public"
    language: str | None = None
    in_reply_to_id: str | None = None
    reblog: dict[str, Any] | None = None
    replies_count: int = 0
    reblogs_count: int = 0
    favourites_count: int = 0
    tags: list[_Tag] = Field(default_factory=list)


class _Event(BaseModel):
    event: str
    created_at: UtcDatetime | None = None
    object: dict[str, Any]


class MastodonAdapter(WebhookAdapter):
    vendor = "mastodon"

    def __init__(self, *, visibilities: Collection[str] = DEFAULT_VISIBILITIES) -> None:
        self.visibilities = frozenset(visibilities)

    def verify(self, delivery: Delivery, secret: str) -> None:
        verify_signature(
            delivery.headers.get("x-hub-signature"),
            secret=secret,
            message=delivery.body,
            algorithm="sha256",
            encoding="hex",
            prefix="sha256=",
        )

    def parse(self, delivery: Delivery) -> Sequence[Item]:
        event = validate(_Event, delivery.json())
        if event.event not in STATUS_EVENTS:
            return [Ignored(f"event {event.event}")]
        status = validate(_Status, event.object, loc=("body", "object"))
        if status.reblog is not None:
            return [Ignored("reblog")]
        if status.visibility not in self.visibilities:
            return [Ignored(f"visibility {status.visibility}")]
        text = html_to_text(status.content)
        if not text:
            return [Ignored("status without text")]
        account = status.account
        return [
            PostIn(
                source=self.vendor,
                source_id=status.uri,
                occurred_at=status.created_at,
                revision=revision_of(status.edited_at or status.created_at),
                platform=self.vendor,
                author=f"@{account.acct}",
                customer=Customer(id=account.url or account.id),
                text=text,
                url=status.url or status.uri,
                language=status.language,
                reach=account.followers_count,
                engagement=Engagement(
                    likes=status.favourites_count,
                    shares=status.reblogs_count,
                    replies=status.replies_count,
                ),
                metadata={
                    "tags": [t.name for t in status.tags],
                    "status_id": status.id,
                    "content_warning": status.spoiler_text or None,
                    "in_reply_to": status.in_reply_to_id,
                    "visibility": status.visibility,
                    "bot": account.bot,
                },
            )
        ]
