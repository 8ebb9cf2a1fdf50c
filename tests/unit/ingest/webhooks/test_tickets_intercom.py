"""Intercom adapter: X-Hub-Signature (HMAC-SHA1), conversations as versions, rating as CSAT."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.tickets.adapters.intercom import IntercomAdapter
from services.tickets.models import TicketIn
from shared.ids import revision_rank
from shared.ingest.errors import InvalidPayload
from shared.ingest.webhooks import AuthFailure, Deletion, Ignored
from tests.unit.ingest.webhooks import vendors_tickets as ic
from tests.unit.ingest.webhooks.support import delivery, first_loc

SECRET = ic.SECRETS["intercom"]


def _reason(body: bytes, headers: dict[str, str]) -> str:
    with pytest.raises(AuthFailure) as exc:
        IntercomAdapter().verify(delivery("intercom", body, headers), SECRET)
    return exc.value.reason


def _parse(payload: dict[str, Any]) -> list[Any]:
    return list(IntercomAdapter().parse(delivery("intercom", ic.dumps(payload), {})))


def _ticket(payload: dict[str, Any]) -> TicketIn:
    [item] = _parse(payload)
    assert isinstance(item, TicketIn)
    return item


class TestIntercomAdapter:
    def test_signed_body_verifies(self) -> None:
        body = ic.dumps(ic.intercom())
        IntercomAdapter().verify(delivery("intercom", body, ic.intercom_headers(body)), SECRET)

    def test_rfc_2202_sha1_vector_verifies_as_an_intercom_signature(self) -> None:
        # RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?".
        headers = {"x-hub-signature": "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"}
        d = delivery("intercom", b"what do ya want for nothing?", headers)
        IntercomAdapter().verify(d, "Jefe")

    def test_signature_with_another_secret_fails(self) -> None:
        body = ic.dumps(ic.intercom())
        assert _reason(body, ic.intercom_headers(body, secret="other")) == "bad_signature"

    def test_signature_without_the_sha1_prefix_fails(self) -> None:
        body = ic.dumps(ic.intercom())
        bare = ic.intercom_headers(body)["x-hub-signature"].removeprefix("sha1=")
        assert _reason(body, {"x-hub-signature": bare}) == "bad_signature"

    def test_missing_signature_is_named(self) -> None:
        assert _reason(b"{}", {}) == "missing_signature"

    def test_conversation_is_a_ticket_with_the_customers_words(self) -> None:
        item = _ticket(ic.intercom())
        assert (item.source, item.source_id) == ("intercom", "1911149811")
        assert item.revision == "2018-10-24T15:01:10+00:00"
        assert item.subject is None
        assert item.body == "Hi, my order #4411 never arrived.\n\nCan you help?"
        assert (item.status, item.priority, item.channel) == (
            "open",
            "not_priority",
            "conversation",
        )
        assert item.tags == ["delivery"]
        assert item.customer is not None and item.customer.id == "5bc8f7ae2d96695c18a"
        assert (item.first_response_seconds, item.resolution_seconds) == (2408, 5125)
        assert item.csat is None
        assert item.metadata["vendor_event_id"] == "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3"

    def test_redelivered_notification_has_the_same_identity(self) -> None:
        first = ic.intercom()
        retry = ic.intercom()
        retry["delivery_attempts"] = 2
        retry["delivery_status"] = "retry"
        assert _ticket(first).revision == _ticket(retry).revision

    def test_rating_is_the_csat_of_a_newer_version(self) -> None:
        unrated = _ticket(ic.intercom())
        rated = _ticket(
            ic.intercom(
                topic="conversation.rating.added",
                notification_id="notif_rating_1",
                created_at=1540393500,
                updated_at=1540393500,
                rating=2,
                remark="Took three days to answer.",
            )
        )
        assert (rated.source_id, rated.csat) == (unrated.source_id, 2)
        assert rated.metadata["satisfaction_comment"] == "Took three days to answer."
        assert revision_rank(str(rated.revision)) > revision_rank(str(unrated.revision))

    def test_later_notification_is_newer_even_if_updated_at_stayed(self) -> None:
        before = _ticket(ic.intercom())
        rated = _ticket(ic.intercom(notification_id="notif_2", created_at=1540393600, rating=5))
        assert revision_rank(str(rated.revision)) > revision_rank(str(before.revision))

    def test_admin_initiated_conversation_takes_the_contacts_replies(self) -> None:
        payload = ic.intercom()
        item = payload["data"]["item"]
        item["source"]["author"] = {"type": "admin", "id": "814860"}
        item["source"]["body"] = "<p>How was your delivery?</p>"
        item["conversation_parts"]["conversation_parts"].append(
            {
                "part_type": "comment",
                "body": "<p>It came late &amp; damaged.</p>",
                "author": {"type": "user", "id": "5bc8f7ae2d96695c18a"},
            }
        )
        assert _ticket(payload).body == "It came late & damaged."

    def test_api_2_0_contact_list_gives_the_customer(self) -> None:
        payload = ic.intercom()
        payload["data"]["item"]["contacts"] = [{"type": "lead", "id": "5bc8f7ae2d9669"}]
        item = _ticket(payload)
        assert item.customer is not None and item.customer.id == "5bc8f7ae2d9669"

    def test_deleted_conversation_is_a_tombstone_after_its_notification(self) -> None:
        last = _ticket(ic.intercom(created_at=1540400000, updated_at=1540400000))
        [tombstone] = _parse(ic.intercom_deleted(created_at=1540400000))
        assert isinstance(tombstone, Deletion)
        assert tombstone.source_id == "1911149811"
        assert revision_rank(tombstone.revision) > revision_rank(str(last.revision))

    @pytest.mark.parametrize("topic", ["ping", "contact.created"])
    def test_other_topics_are_ignored(self, topic: str) -> None:
        payload = ic.intercom(topic=topic)
        payload["data"]["item"] = {"type": topic.split(".")[0], "message": "ping"}
        [item] = _parse(payload)
        assert isinstance(item, Ignored)

    def test_rating_out_of_range_is_a_validation_error_of_our_field(self) -> None:
        with pytest.raises(ValidationError) as exc:
            _parse(ic.intercom(rating=7))
        assert exc.value.errors()[0]["loc"] == ("csat",)

    def test_missing_updated_at_is_named(self) -> None:
        payload = ic.intercom()
        del payload["data"]["item"]["updated_at"]
        with pytest.raises(InvalidPayload) as exc:
            _parse(payload)
        assert first_loc(exc.value) == ["body", "data", "item", "updated_at"]
