"""Zendesk, Intercom and Freshdesk webhooks on the tickets service and a real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from services.tickets.app import create_app
from services.tickets.settings import TicketsSettings
from shared.events import RawFeedbackEvent
from shared.ids import feedback_id_for
from shared.ingest.webhooks.settings import WebhookSettings
from shared.kafka import ensure_topics
from shared.settings import KafkaSettings
from tests.integration.ingest.conftest import running
from tests.integration.ingest.webhooks.conftest import (
    MAX_WEBHOOK_BODY,
    decode,
    metric,
    records_where,
    with_ids,
)
from tests.unit.ingest.webhooks import vendors_tickets as vt

TICKET_TOPIC = RawFeedbackEvent.topic_for("ticket")


def tickets_settings(kafka: KafkaSettings, secrets: dict[str, str]) -> TicketsSettings:
    webhooks = {
        "secrets": {k: SecretStr(v) for k, v in secrets.items()},
        "max_body_bytes": MAX_WEBHOOK_BODY,
    }
    return TicketsSettings(
        kafka=kafka,
        startup_wait_s=5.0,
        connect_retry_max_s=0.5,
        shutdown_timeout_s=5.0,
        webhooks=WebhookSettings.model_validate(webhooks),
    )


@pytest.fixture(scope="module")
async def tickets(hooks_topics: KafkaSettings) -> AsyncIterator[httpx.AsyncClient]:
    await ensure_topics(hooks_topics, topics=[TICKET_TOPIC], partitions=2)
    async with running(create_app(tickets_settings(hooks_topics, vt.SECRETS))) as client:
        yield client


async def _post(
    client: httpx.AsyncClient, vendor: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    return await client.post(f"/v1/webhooks/{vendor}", content=body, headers=headers)


async def _events(kafka: KafkaSettings, *responses: httpx.Response) -> list[RawFeedbackEvent]:
    """The events the responses' event ids name, one per id, in the responses' order."""
    ids = [i for r in responses for i in r.json()["event_ids"]]
    records = await records_where(kafka, TICKET_TOPIC, with_ids(*ids), len(set(ids)))
    by_id = {str(e.event_id): e for e in map(decode, records)}
    return [by_id[i] for i in ids]


def _zendesk(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = vt.dumps(payload)
    return body, vt.zendesk_headers(body, timestamp=vt.zendesk_now())


def _intercom(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = vt.dumps(payload)
    return body, vt.intercom_headers(body)


class TestZendeskWebhook:
    async def test_signed_ticket_event_is_published_with_its_raw_payload(
        self, tickets: httpx.AsyncClient, hooks_topics: KafkaSettings, unique: str
    ) -> None:
        payload = vt.zendesk(f"zd-{unique}", action="tags_changed", tags=["voc_csat_good"])

        response = await _post(tickets, "zendesk", *_zendesk(payload))

        assert response.status_code == 202, response.text
        [event] = await _events(hooks_topics, response)
        data = event.data
        assert (data.source, data.source_id) == ("zendesk", f"zd-{unique}")
        assert data.ticket is not None
        assert (data.ticket.status, data.ticket.csat) == ("solved", 5)
        assert data.text == (
            "Payment fails at checkout\n\nThe card payment times out at checkout, twice now."
        )
        assert data.metadata["raw"] == payload
        assert event.producer == "tickets"

    async def test_replayed_delivery_gets_the_same_event_id(
        self, tickets: httpx.AsyncClient, unique: str
    ) -> None:
        body, headers = _zendesk(vt.zendesk(f"zd-again-{unique}"))
        first = await _post(tickets, "zendesk", body, headers)
        again = await _post(tickets, "zendesk", body, headers)
        assert first.status_code == again.status_code == 202
        assert first.json()["event_ids"] == again.json()["event_ids"]

    async def test_update_then_delete_supersede_the_first_version(
        self, tickets: httpx.AsyncClient, hooks_topics: KafkaSettings, unique: str
    ) -> None:
        ticket_id = f"zd-life-{unique}"
        opened = vt.zendesk(ticket_id, action="created", status="NEW", updated_at=_at("09:00"))
        solved = vt.zendesk(ticket_id, status="SOLVED", updated_at=_at("09:30"))
        deleted = vt.zendesk(ticket_id, action="soft_deleted", time=_at("09:45"))

        responses = [await _post(tickets, "zendesk", *_zendesk(p)) for p in (opened, solved)]
        responses.append(await _post(tickets, "zendesk", *_zendesk(deleted)))

        assert [r.status_code for r in responses] == [202, 202, 202]
        first, second, tombstone = (e.data for e in await _events(hooks_topics, *responses))
        assert first.feedback_id == second.feedback_id == tombstone.feedback_id
        assert first.feedback_id == feedback_id_for("zendesk", ticket_id)
        assert first.revision_rank < second.revision_rank < tombstone.revision_rank
        assert second.ticket is not None and second.ticket.status == "solved"
        assert (tombstone.deleted, first.deleted) == (True, False)

    async def test_bad_signature_is_401_and_counted(self, tickets: httpx.AsyncClient) -> None:
        body = vt.dumps(vt.zendesk())
        headers = vt.zendesk_headers(body, timestamp=vt.zendesk_now(), secret="guessed")
        labels = {"vendor": "zendesk", "reason": "bad_signature"}
        before = await metric(tickets, "voc_tickets_webhook_auth_failures_total", **labels)

        response = await _post(tickets, "zendesk", body, headers)

        assert response.status_code == 401
        assert response.json() == {"error": "unauthorized", "detail": "bad_signature"}
        after = await metric(tickets, "voc_tickets_webhook_auth_failures_total", **labels)
        assert after == before + 1

    async def test_genuine_but_stale_delivery_is_401_stale_timestamp(
        self, tickets: httpx.AsyncClient
    ) -> None:
        body = vt.dumps(vt.zendesk())
        response = await _post(tickets, "zendesk", body, vt.zendesk_headers(body, "2021-01-01"))
        assert response.status_code == 401
        assert response.json()["detail"] == "stale_timestamp"

    async def test_user_events_are_acknowledged_and_ignored(
        self, tickets: httpx.AsyncClient
    ) -> None:
        payload = {"type": "zen:event-type:user.created", "id": "e-1", "detail": {"id": "7"}}
        response = await _post(tickets, "zendesk", *_zendesk(payload))
        assert response.status_code == 202
        assert (response.json()["accepted"], response.json()["ignored"]) == (0, 1)


class TestIntercomWebhook:
    async def test_rating_is_a_newer_version_with_the_csat(
        self, tickets: httpx.AsyncClient, hooks_topics: KafkaSettings, unique: str
    ) -> None:
        conversation = f"ic-{unique}"
        opened = vt.intercom(conversation, notification_id=f"notif_a_{unique}")
        rated = vt.intercom(
            conversation,
            topic="conversation.rating.added",
            notification_id=f"notif_b_{unique}",
            created_at=1540393500,
            rating=4,
        )

        first = await _post(tickets, "intercom", *_intercom(opened))
        second = await _post(tickets, "intercom", *_intercom(rated))

        assert first.status_code == second.status_code == 202, second.text
        old, new = (e.data for e in await _events(hooks_topics, first, second))
        assert old.feedback_id == new.feedback_id == feedback_id_for("intercom", conversation)
        assert new.revision_rank > old.revision_rank
        assert old.ticket is not None and new.ticket is not None
        assert (old.ticket.csat, new.ticket.csat) == (None, 4)
        assert new.text == "Hi, my order #4411 never arrived.\n\nCan you help?"

    async def test_redelivered_notification_gets_the_same_event_id(
        self, tickets: httpx.AsyncClient, unique: str
    ) -> None:
        payload = vt.intercom(f"ic-again-{unique}")
        first = await _post(tickets, "intercom", *_intercom(payload))
        payload["delivery_attempts"] = 2
        retry = await _post(tickets, "intercom", *_intercom(payload))
        assert first.status_code == retry.status_code == 202
        assert first.json()["event_ids"] == retry.json()["event_ids"]

    async def test_deleted_conversation_is_a_tombstone(
        self, tickets: httpx.AsyncClient, hooks_topics: KafkaSettings, unique: str
    ) -> None:
        response = await _post(tickets, "intercom", *_intercom(vt.intercom_deleted(f"ic-{unique}")))
        assert response.status_code == 202, response.text
        [event] = await _events(hooks_topics, response)
        assert (event.data.deleted, event.data.source_id) == (True, f"ic-{unique}")

    async def test_bad_signature_is_401(self, tickets: httpx.AsyncClient) -> None:
        body = vt.dumps(vt.intercom())
        response = await _post(tickets, "intercom", body, vt.intercom_headers(body, "guessed"))
        assert response.status_code == 401
        assert response.json()["detail"] == "bad_signature"


class TestFreshdeskWebhook:
    async def test_rule_delivery_with_basic_auth_is_published(
        self, tickets: httpx.AsyncClient, hooks_topics: KafkaSettings, unique: str
    ) -> None:
        payload = vt.freshdesk(f"fd-{unique}")
        response = await _post(tickets, "freshdesk", vt.dumps(payload), vt.freshdesk_basic())

        assert response.status_code == 202, response.text
        [event] = await _events(hooks_topics, response)
        assert event.data.ticket is not None
        assert (event.data.ticket.status, event.data.ticket.priority) == ("pending", "high")
        assert event.data.ticket.tags == ["billing", "invoice"]
        assert event.data.metadata["raw"] == payload

    async def test_retry_repeats_and_a_change_replaces(
        self, tickets: httpx.AsyncClient, hooks_topics: KafkaSettings, unique: str
    ) -> None:
        pending = vt.dumps(vt.freshdesk(f"fd-life-{unique}", status="Pending"))
        resolved = vt.dumps(vt.freshdesk(f"fd-life-{unique}", status="4"))

        first = await _post(tickets, "freshdesk", pending, vt.freshdesk_bearer())
        retry = await _post(tickets, "freshdesk", pending, vt.freshdesk_bearer())
        change = await _post(tickets, "freshdesk", resolved, vt.freshdesk_bearer())
        gone = await _post(
            tickets,
            "freshdesk",
            vt.dumps(vt.freshdesk(f"fd-life-{unique}", ticket_deleted=True)),
            vt.freshdesk_bearer(),
        )

        assert first.json()["event_ids"] == retry.json()["event_ids"]
        old, new, tombstone = (e.data for e in await _events(hooks_topics, first, change, gone))
        assert old.feedback_id == new.feedback_id == tombstone.feedback_id
        assert len({old.revision, new.revision, tombstone.revision}) == 3
        # Digest revisions do not order by time: the version received last wins downstream.
        assert old.received_at <= new.received_at <= tombstone.received_at
        assert new.ticket is not None and new.ticket.status == "resolved"
        assert tombstone.deleted

    async def test_wrong_token_is_401(self, tickets: httpx.AsyncClient) -> None:
        body = vt.dumps(vt.freshdesk())
        response = await _post(tickets, "freshdesk", body, vt.freshdesk_basic("guess"))
        assert response.status_code == 401
        assert response.json()["detail"] == "bad_token"

    async def test_missing_ticket_id_is_422_naming_it(self, tickets: httpx.AsyncClient) -> None:
        payload = vt.freshdesk()
        del payload["freshdesk_webhook"]["ticket_id"]
        response = await _post(tickets, "freshdesk", vt.dumps(payload), vt.freshdesk_basic())
        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["detail"]] == [
            ["body", "freshdesk_webhook", "ticket_id"]
        ]


class TestTicketsWebhookVendors:
    @pytest.mark.parametrize("vendor", ["zendesk", "intercom", "freshdesk"])
    async def test_vendor_without_a_secret_is_404_disabled(
        self, hooks_topics: KafkaSettings, vendor: str
    ) -> None:
        secrets = {k: v for k, v in vt.SECRETS.items() if k != vendor}
        body = vt.dumps({})
        headers = {
            **vt.zendesk_headers(body, timestamp=vt.zendesk_now()),
            **vt.intercom_headers(body),
            **vt.freshdesk_bearer(),
        }
        async with running(create_app(tickets_settings(hooks_topics, secrets))) as client:
            response = await _post(client, vendor, body, headers)
        assert response.status_code == 404
        assert response.json()["error"] == "vendor_disabled"

    async def test_survey_vendor_is_unknown_here(self, tickets: httpx.AsyncClient) -> None:
        response = await _post(tickets, "typeform", b"{}", {"content-type": "application/json"})
        assert response.status_code == 404
        assert response.json()["error"] == "unknown_vendor"


def _at(clock: str) -> str:
    return f"2026-11-23T{clock}:00Z"
