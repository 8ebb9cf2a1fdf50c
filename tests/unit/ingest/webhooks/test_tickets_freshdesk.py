"""Freshdesk adapter: token auth, the freshdesk_webhook body, codes and names, digest revisions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.tickets.adapters.freshdesk import FreshdeskAdapter
from services.tickets.models import TicketIn
from shared.ingest.errors import InvalidPayload
from shared.ingest.webhooks import AuthFailure, Deletion
from tests.unit.ingest.webhooks import vendors_tickets as fd
from tests.unit.ingest.webhooks.support import NOW, delivery, first_loc

TOKEN = fd.SECRETS["freshdesk"]


def _parse(payload: dict[str, Any], zone: str = "UTC") -> list[Any]:
    adapter = FreshdeskAdapter(ZoneInfo(zone))
    return list(adapter.parse(delivery("freshdesk", fd.dumps(payload), {})))


def _ticket(payload: dict[str, Any], zone: str = "UTC") -> TicketIn:
    [item] = _parse(payload, zone)
    assert isinstance(item, TicketIn)
    return item


class TestFreshdeskAdapter:
    @pytest.mark.parametrize("headers", [fd.freshdesk_basic(), fd.freshdesk_bearer()])
    def test_basic_password_or_bearer_token_verifies(self, headers: dict[str, str]) -> None:
        FreshdeskAdapter().verify(delivery("freshdesk", b"{}", headers), TOKEN)

    @pytest.mark.parametrize(
        ("headers", "reason"),
        [({}, "missing_token"), (fd.freshdesk_basic("guess"), "bad_token")],
    )
    def test_missing_or_wrong_token_fails(self, headers: dict[str, str], reason: str) -> None:
        with pytest.raises(AuthFailure) as exc:
            FreshdeskAdapter().verify(delivery("freshdesk", b"{}", headers), TOKEN)
        assert exc.value.reason == reason

    def test_rule_body_maps_to_a_ticket(self) -> None:
        item = _ticket(fd.freshdesk())
        assert (item.source, item.source_id) == ("freshdesk", "11")
        assert (item.subject, item.body) == (
            "Charged twice",
            "The invoice for October charged me twice.",
        )
        assert (item.status, item.priority, item.channel) == ("pending", "high", "portal")
        assert item.tags == ["billing", "invoice"]
        assert item.customer is not None and item.customer.id == "80011223344"
        assert item.occurred_at == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
        assert item.metadata == {"type": "incident", "triggered_event": "{ticket_action:created}"}

    @pytest.mark.parametrize(
        ("status", "priority", "expected"),
        [
            ("4", 1, ("resolved", "low")),
            (5, "4", ("closed", "urgent")),
            ("Waiting on Customer", "Medium", ("waiting_on_customer", "medium")),
            ("6", "2", ("status_6", "medium")),
        ],
    )
    def test_codes_and_names_map_to_lower_case_names(
        self, status: Any, priority: Any, expected: tuple[str, str]
    ) -> None:
        item = _ticket(fd.freshdesk(status=status, priority=priority))
        assert (item.status, item.priority) == expected

    def test_created_on_is_read_in_the_helpdesks_time_zone(self) -> None:
        item = _ticket(fd.freshdesk(), zone="Europe/Stockholm")
        assert item.occurred_at == datetime(2026, 11, 20, 8, 15, tzinfo=UTC)

    def test_without_created_at_the_delivery_time_is_used(self) -> None:
        assert _ticket(fd.freshdesk(ticket_created_at="")).occurred_at == NOW

    def test_redelivery_and_the_same_state_from_another_rule_share_the_revision(self) -> None:
        first = _ticket(fd.freshdesk())
        again = _ticket(fd.freshdesk())
        other_rule = _ticket(fd.freshdesk(triggered_event="{status:{from:2,to:3}}"))
        assert first.revision == again.revision == other_rule.revision

    def test_changed_ticket_gets_another_revision(self) -> None:
        pending = _ticket(fd.freshdesk(status="Pending"))
        resolved = _ticket(fd.freshdesk(status="Resolved"))
        assert pending.source_id == resolved.source_id
        assert pending.revision != resolved.revision

    def test_deleted_flag_is_a_tombstone(self) -> None:
        live = _ticket(fd.freshdesk())
        [tombstone] = _parse(fd.freshdesk(ticket_deleted="true"))
        assert isinstance(tombstone, Deletion)
        assert tombstone.source_id == "11"
        assert tombstone.revision != live.revision

    def test_unknown_fields_are_tolerated(self) -> None:
        item = _ticket(fd.freshdesk(ticket_cf_order_number="A-1009", ticket_due_by_time="soon"))
        assert item.source_id == "11"

    def test_missing_ticket_id_is_named(self) -> None:
        payload = fd.freshdesk()
        del payload["freshdesk_webhook"]["ticket_id"]
        with pytest.raises(InvalidPayload) as exc:
            _parse(payload)
        assert first_loc(exc.value) == ["body", "freshdesk_webhook", "ticket_id"]

    def test_unreadable_created_at_is_named(self) -> None:
        with pytest.raises(InvalidPayload) as exc:
            _parse(fd.freshdesk(ticket_created_at="Fri, 20 Nov at 9:15 AM"))
        assert first_loc(exc.value) == ["body", "freshdesk_webhook", "ticket_created_at"]
