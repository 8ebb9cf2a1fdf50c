"""Zendesk adapter: TIMESTAMP ‖ BODY signatures, ticket events as versions, CSAT tags, deletes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.importer.formats.zendesk import to_item
from services.tickets.adapters.zendesk import ZendeskAdapter
from services.tickets.models import TicketIn
from shared.ids import revision_rank
from shared.ingest.errors import InvalidPayload
from shared.ingest.webhooks import AuthFailure, Deletion, Delivery, Ignored
from tests.unit.ingest.webhooks import vendors_tickets as zd
from tests.unit.ingest.webhooks.support import NOW, delivery, first_loc

SECRET = zd.SECRETS["zendesk"]
CSAT_TAGS = {"voc_csat_good": 5, "voc_csat_bad": 1}


def _adapter() -> ZendeskAdapter:
    return ZendeskAdapter(CSAT_TAGS)


def _signed(body: bytes, **kw: Any) -> Delivery:
    return delivery("zendesk", body, zd.zendesk_headers(body, **kw))


def _verify_reason(d: Delivery, secret: str = SECRET) -> str:
    with pytest.raises(AuthFailure) as exc:
        _adapter().verify(d, secret)
    return exc.value.reason


def _parse(payload: dict[str, Any]) -> list[Any]:
    return list(_adapter().parse(delivery("zendesk", zd.dumps(payload), {})))


def _ticket(payload: dict[str, Any]) -> TicketIn:
    [item] = _parse(payload)
    assert isinstance(item, TicketIn)
    return item


class TestZendeskAdapter:
    def test_timestamp_then_body_signed_with_the_secret_as_given_verifies(self) -> None:
        _adapter().verify(_signed(zd.dumps(zd.zendesk())), SECRET)

    def test_published_client_vector_verifies(self) -> None:
        vector = zd.ZENDESK_CLIENT_VECTOR
        headers = {
            "x-zendesk-webhook-signature": vector.signature,
            "x-zendesk-webhook-signature-timestamp": vector.timestamp,
        }
        # The vector's timestamp is Unix second 1234: receive it within the window of then.
        then = datetime.fromtimestamp(1234 + 60, tz=UTC)
        captured = replace(delivery("zendesk", vector.body, headers), received_at=then)
        _adapter().verify(captured, vector.secret)

    def test_old_docs_body_then_timestamp_example_is_refused(self) -> None:
        # The order Zendesk's docs no longer give: such a signature must not pass.
        example = zd.ZENDESK_OLD_DOCS
        headers = {
            "x-zendesk-webhook-signature": example.signature,
            "x-zendesk-webhook-signature-timestamp": example.timestamp,
        }
        then = datetime(2021, 7, 25, 10, 1, tzinfo=UTC)
        old = replace(delivery("zendesk", example.body, headers), received_at=then)
        assert _verify_reason(old, example.secret) == "bad_signature"

    def test_body_changed_after_signing_fails(self) -> None:
        body = zd.dumps(zd.zendesk())
        tampered = body.replace(b"SOLVED", b"OPEN")
        d = delivery("zendesk", tampered, zd.zendesk_headers(body))
        assert _verify_reason(d) == "bad_signature"

    def test_stale_timestamp_fails_although_signed(self) -> None:
        stale = (NOW - timedelta(minutes=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert _verify_reason(_signed(b"{}", timestamp=stale)) == "stale_timestamp"

    def test_missing_headers_are_a_missing_signature(self) -> None:
        assert _verify_reason(delivery("zendesk", b"{}", {})) == "missing_signature"

    def test_any_of_several_configured_secrets_verifies(self) -> None:
        body = zd.dumps(zd.zendesk())
        second = _signed(body, secret="events-webhook-secret")
        _adapter().verify(second, f"{SECRET}, events-webhook-secret")
        assert _verify_reason(second, f"{SECRET} other") == "bad_signature"

    def test_ticket_event_is_a_full_version_of_the_ticket(self) -> None:
        item = _ticket(zd.zendesk())
        assert (item.source, item.source_id) == ("zendesk", "35436")
        assert item.revision == "2026-11-23T09:58:00+00:00"
        assert item.occurred_at == datetime(2026, 11, 20, 8, 15, 42, tzinfo=UTC)
        assert (item.subject, item.body) == (
            "Payment fails at checkout",
            "The card payment times out at checkout, twice now.",
        )
        assert (item.status, item.priority, item.channel) == ("solved", "high", "web_service")
        assert item.tags == ["checkout", "payment"]
        assert item.customer is not None and item.customer.id == "8447388090101"
        assert item.csat is None
        assert item.metadata["event_type"] == "status_changed"
        assert item.metadata["type"] == "incident"

    def test_redelivery_and_events_of_one_action_share_the_identity(self) -> None:
        status = _ticket(zd.zendesk())
        again = _ticket(zd.zendesk())
        comment = _ticket(zd.zendesk(action="comment_added"))
        assert status.revision == again.revision == comment.revision

    def test_later_update_is_a_newer_revision(self) -> None:
        first = _ticket(zd.zendesk(status="OPEN", updated_at="2026-11-23T09:00:00Z"))
        later = _ticket(zd.zendesk(status="SOLVED", updated_at="2026-11-23T09:58:00Z"))
        assert revision_rank(str(later.revision)) > revision_rank(str(first.revision))

    @pytest.mark.parametrize(
        ("tags", "csat"),
        [
            (["payment", "voc_csat_good"], 5),
            (["voc_csat_bad"], 1),
            (["voc_csat_good", "voc_csat_bad"], 1),
            (["payment"], None),
        ],
    )
    def test_csat_comes_from_the_rating_tags(self, tags: list[str], csat: int | None) -> None:
        assert _ticket(zd.zendesk(action="tags_changed", tags=tags)).csat == csat

    def test_revision_and_csat_match_the_importer_for_the_same_ticket(self) -> None:
        payload = zd.zendesk(tags=["voc_csat_good"])
        api_ticket = {
            **payload["detail"],
            "id": 35436,
            "status": "solved",
            "satisfaction_rating": {"score": "good"},
        }
        imported = to_item(api_ticket)
        item = _ticket(payload)
        assert (imported["source"], imported["source_id"]) == (item.source, item.source_id)
        assert imported["updated_at"] == item.revision
        assert imported["csat"] == item.csat

    @pytest.mark.parametrize("action", ["soft_deleted", "permanently_deleted", "marked_as_spam"])
    def test_deletion_is_a_tombstone_newer_than_the_last_version(self, action: str) -> None:
        last = _ticket(zd.zendesk(updated_at="2026-11-23T09:58:00Z"))
        payload = zd.zendesk(action=action, updated_at="2026-11-23T09:58:00Z")
        payload["time"] = "2026-11-23T09:58:00Z"
        payload["detail"] = {"id": "35436", "updated_at": "2026-11-23T09:58:00Z"}
        [tombstone] = _parse(payload)
        assert isinstance(tombstone, Deletion)
        assert tombstone.source_id == "35436"
        assert tombstone.revision != last.revision
        assert revision_rank(tombstone.revision) > revision_rank(str(last.revision))

    def test_undelete_brings_the_ticket_back_after_its_tombstone(self) -> None:
        deleted = zd.zendesk(action="soft_deleted", time="2026-11-23T09:58:10Z")
        undeleted = zd.zendesk(
            action="undeleted", updated_at="2026-11-23T09:59:00Z", time="2026-11-23T09:59:00Z"
        )
        [tombstone] = _parse(deleted)
        back = _ticket(undeleted)
        assert isinstance(tombstone, Deletion)
        assert revision_rank(str(back.revision)) > revision_rank(tombstone.revision)

    def test_non_ticket_events_are_ignored(self) -> None:
        [item] = _parse(
            {"type": "zen:event-type:user.created", "id": "e1", "detail": {"id": "6596848315901"}}
        )
        assert isinstance(item, Ignored)

    def test_missing_updated_at_is_named(self) -> None:
        payload = zd.zendesk()
        del payload["detail"]["updated_at"]
        with pytest.raises(InvalidPayload) as exc:
            _parse(payload)
        assert first_loc(exc.value) == ["body", "detail", "updated_at"]

    def test_unknown_fields_and_numeric_ids_are_tolerated(self) -> None:
        payload = zd.zendesk()
        payload["detail"]["id"] = 35436
        payload["detail"]["brand_new"] = {"x": 1}
        assert _ticket(payload).source_id == "35436"
