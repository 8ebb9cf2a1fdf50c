"""Help-desk payloads shaped like the vendors' documentation, and how each vendor signs them.

Shapes follow: Zendesk's event-subscription payload (`zen:event-type:ticket.*`, "Webhook event
types" and "Ticket events" reference, string ids, upper-case enums as deliveries carry them),
Intercom's `notification_event` with a Conversation (API 2.x conversation model), and the
`{"freshdesk_webhook": {...}}` body of a Freshdesk automation rule (as Zulip's Freshdesk
integration documents and tests it). Ids are the docs' where they give one; texts are ours.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from shared.ingest.webhooks import sign

SECRETS = {
    "zendesk": "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==",  # Zendesk's own test secret
    "intercom": "ic-client-secret-4b1d",
    "freshdesk": "fd-token-77a0",
}


@dataclass(frozen=True)
class SignedExample:
    secret: str
    timestamp: str
    signature: str
    body: bytes


# Zendesk's "Verifying webhook authenticity" page as it read in 2021: its Node example signs
# BODY ‖ TIMESTAMP, and this signature matches that order only.
ZENDESK_OLD_DOCS = SignedExample(
    secret="HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=",
    body=b'{"say": "hello"}',
    timestamp="2021-07-25T10:00:00Z",
    signature="tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw=",
)
# A delivery captured with Zendesk's static test secret, from the tests of the
# aaronellington/zendesk-go client (test_files/requests/webhook/user/
# group_membership_created.json, timestamp header "1234"): TIMESTAMP ‖ BODY.
ZENDESK_CLIENT_VECTOR = SignedExample(
    secret="dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==",
    timestamp="1234",
    signature="10IqYzYTLHRftNsNE+im0DeOM6/JactIRuy0XCHJ9B8=",
    body=(
        b"{\n"
        b'\t"type": "zen:event-type:user.group_membership_created",\n'
        b'\t"account_id": 12514403,\n'
        b'\t"id": "6b9bbadf-5725-4e92-bebe-7b71011bf5f1",\n'
        b'\t"subject": "zen:user:6596848315901",\n'
        b'\t"time": "2099-07-04T05:33:18Z",\n'
        b'\t"zendesk_event_version": "2022-06-20",\n'
        b'\t"detail": {\n'
        b'\t\t"created_at": "2099-07-04T05:27:58Z",\n'
        b'\t\t"default_group_id": "0",\n'
        b'\t\t"email": "user.name@example.com",\n'
        b'\t\t"external_id": "",\n'
        b'\t\t"id": "6596848315901",\n'
        b'\t\t"organization_id": "0",\n'
        b'\t\t"role": "end-user",\n'
        b'\t\t"updated_at": "2099-07-04T05:33:18Z"\n'
        b"\t},\n"
        b'\t"event": { "group": { "id": "1" } }\n'
        b"}\n"
    ),
)


def dumps(doc: Any) -> bytes:
    return orjson.dumps(doc)


def zendesk(
    ticket_id: str = "35436",
    *,
    action: str = "status_changed",
    updated_at: str = "2026-11-23T09:58:00Z",
    time: str = "2026-11-23T09:58:00.480113722Z",
    status: str = "SOLVED",
    tags: list[str] | None = None,
    description: str = "The card payment times out at checkout, twice now.",
) -> dict[str, Any]:
    return {
        "type": f"zen:event-type:ticket.{action}",
        "account_id": 88888888,
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ticket_id}/{action}/{updated_at}")),
        "time": time,
        "zendesk_event_version": "2022-11-06",
        "subject": f"zen:ticket:{ticket_id}",
        "detail": {
            "actor_id": "8447388090494",
            "assignee_id": "8447388090494",
            "brand_id": "8447346621310",
            "created_at": "2026-11-20T08:15:42Z",
            "custom_status": "8447388112894",
            "description": description,
            "external_id": None,
            "form_id": "8447346615166",
            "group_id": "8447346622846",
            "id": ticket_id,
            "is_public": True,
            "organization_id": "8447346629758",
            "priority": "HIGH",
            "requester_id": "8447388090101",
            "status": status,
            "subject": "Payment fails at checkout",
            "submitter_id": "8447388090101",
            "tags": ["checkout", "payment"] if tags is None else tags,
            "type": "INCIDENT",
            "updated_at": updated_at,
            "via": {"channel": "web_service"},
        },
        "event": {
            "current": status,
            "previous": "OPEN",
            "meta": {"sequence": {"id": "CE4A698AF24F35B3208649C6951E000E", "position": 1}},
        },
    }


def zendesk_headers(
    body: bytes, timestamp: str = "2026-11-23T09:59:30Z", secret: str = SECRETS["zendesk"]
) -> dict[str, str]:
    signature = sign(secret, timestamp.encode() + body, encoding="base64")
    return {
        "content-type": "application/json",
        "x-zendesk-webhook-id": "01GK8E6BKWMJZD2T8Y5AXJQMG5",
        "x-zendesk-webhook-invocation-id": "8350205582",
        "x-zendesk-webhook-signature": signature,
        "x-zendesk-webhook-signature-timestamp": timestamp,
    }


def zendesk_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def intercom(
    conversation_id: str = "1911149811",
    *,
    topic: str = "conversation.user.created",
    notification_id: str = "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3",
    created_at: int = 1540393270,
    updated_at: int = 1540393270,
    rating: int | None = None,
    remark: str | None = None,
    state: str = "open",
) -> dict[str, Any]:
    return {
        "type": "notification_event",
        "app_id": "a86dr8yl",
        "data": {
            "type": "notification_event_data",
            "item": intercom_conversation(
                conversation_id,
                updated_at=updated_at,
                rating=rating,
                remark=remark,
                state=state,
            ),
        },
        "links": {},
        "id": notification_id,
        "topic": topic,
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": created_at,
        "created_at": created_at,
        "self": None,
    }


def intercom_conversation(
    conversation_id: str,
    *,
    updated_at: int,
    rating: int | None,
    remark: str | None,
    state: str,
) -> dict[str, Any]:
    return {
        "type": "conversation",
        "id": conversation_id,
        "title": None,
        "created_at": 1539897198,
        "updated_at": updated_at,
        "waiting_since": None,
        "snoozed_until": None,
        "open": state == "open",
        "state": state,
        "read": True,
        "priority": "not_priority",
        "admin_assignee_id": 814860,
        "team_assignee_id": None,
        "source": {
            "type": "conversation",
            "id": "269650473",
            "delivered_as": "customer_initiated",
            "subject": "",
            "body": "<p>Hi, my order <b>#4411</b> never arrived.</p><p>Can you help?</p>",
            "author": {"type": "lead", "id": "5bc8f7ae2d96695c18a"},
            "attachments": [],
            "url": "https://shop.example.com/orders",
            "redacted": False,
        },
        "contacts": {
            "type": "contact.list",
            "contacts": [{"type": "contact", "id": "5bc8f7ae2d96695c18a", "external_id": "c-77"}],
        },
        "teammates": {"type": "admin.list", "admins": [{"type": "admin", "id": "814860"}]},
        "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": "123", "name": "delivery"}]},
        "conversation_rating": {
            "rating": rating,
            "remark": remark,
            "created_at": 1540393000 if rating else None,
            "contact": {"type": "contact", "id": "5bc8f7ae2d96695c18a"},
            "teammate": {"type": "admin", "id": "814860"},
        },
        "statistics": {
            "type": "conversation_statistics",
            "time_to_assignment": 2310,
            "time_to_admin_reply": 2408,
            "time_to_first_close": 4915,
            "time_to_last_close": 5125,
            "median_time_to_reply": 321,
        },
        "conversation_parts": {
            "type": "conversation_part.list",
            "conversation_parts": [
                {
                    "type": "conversation_part",
                    "id": "7211",
                    "part_type": "comment",
                    "body": "<p>Sorry about that, a new parcel is on its way.</p>",
                    "author": {"type": "admin", "id": "814860"},
                }
            ],
            "total_count": 1,
        },
    }


def intercom_deleted(
    conversation_id: str = "1911149811", created_at: int = 1540400000
) -> dict[str, Any]:
    payload = intercom(
        conversation_id,
        topic="conversation.deleted",
        notification_id=f"notif_del_{conversation_id}",
        created_at=created_at,
    )
    payload["data"]["item"] = {"id": conversation_id, "object": "conversation", "deleted": True}
    return payload


def intercom_headers(body: bytes, secret: str = SECRETS["intercom"]) -> dict[str, str]:
    signature = sign(secret, body, algorithm="sha1", encoding="hex", prefix="sha1=")
    return {"content-type": "application/json", "x-hub-signature": signature}


def freshdesk(
    ticket_id: str = "11",
    *,
    status: str = "Pending",
    priority: str = "High",
    description: str = "<div>The invoice for October charged me twice.</div>",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "freshdesk_webhook": {
            "triggered_event": "{ticket_action:created}",
            "ticket_id": ticket_id,
            "ticket_url": f"http://test1234zzz.freshdesk.com/helpdesk/tickets/{ticket_id}",
            "ticket_type": "Incident",
            "ticket_subject": "Charged twice",
            "ticket_description": description,
            "ticket_status": status,
            "ticket_priority": priority,
            "ticket_source": "Portal",
            "ticket_tags": "billing, invoice",
            "ticket_created_at": "2026-11-20 09:15:00",
            "requester_id": "80011223344",
            "requester_name": "Requester Bob",
            "requester_email": "requester-bob@example.com",
            **extra,
        }
    }


def freshdesk_basic(token: str = SECRETS["freshdesk"]) -> dict[str, str]:
    # Freshdesk's "Requires authentication": user name and password, sent as Basic auth.
    credentials = base64.b64encode(f"voc:{token}".encode()).decode()
    return {"content-type": "application/json", "authorization": f"Basic {credentials}"}


def freshdesk_bearer(token: str = SECRETS["freshdesk"]) -> dict[str, str]:
    return {"content-type": "application/json", "authorization": f"Bearer {token}"}
