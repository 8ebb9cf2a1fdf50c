"""X and Mastodon webhooks on the social service, on a real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from services.social.app import create_app
from services.social.settings import SocialSettings
from shared.events import RawFeedbackEvent
from shared.ids import feedback_id_for
from shared.ingest.webhooks import crc_response_token
from shared.ingest.webhooks.settings import WebhookSettings
from shared.kafka import ensure_topics
from shared.settings import KafkaSettings
from tests.integration.ingest.conftest import running
from tests.integration.ingest.webhooks.conftest import (
    MAX_WEBHOOK_BODY,
    decode,
    metric,
    of_item,
    records_where,
)
from tests.unit.ingest.webhooks import social_payloads as sp

SOCIAL_TOPIC = RawFeedbackEvent.topic_for("social")


def social_settings(kafka: KafkaSettings, **hooks: Any) -> SocialSettings:
    webhooks = {
        "secrets": {k: SecretStr(v) for k, v in sp.SECRETS.items()},
        "max_body_bytes": MAX_WEBHOOK_BODY,
        **hooks,
    }
    return SocialSettings(
        kafka=kafka,
        startup_wait_s=5.0,
        connect_retry_max_s=0.5,
        shutdown_timeout_s=5.0,
        webhooks=WebhookSettings.model_validate(webhooks),
    )


@pytest.fixture(scope="module")
async def social(hooks_topics: KafkaSettings) -> AsyncIterator[httpx.AsyncClient]:
    await ensure_topics(hooks_topics, topics=[SOCIAL_TOPIC], partitions=2)
    async with running(create_app(social_settings(hooks_topics))) as client:
        yield client


async def _post_x(client: httpx.AsyncClient, payload: dict[str, Any]) -> Any:
    body = sp.dumps(payload)
    response = await client.post("/v1/webhooks/x", content=body, headers=sp.x_headers(body))
    assert response.status_code == 202, response.text
    return response.json()


async def _post_mastodon(client: httpx.AsyncClient, payload: dict[str, Any]) -> Any:
    body = sp.dumps(payload)
    response = await client.post(
        "/v1/webhooks/mastodon", content=body, headers=sp.mastodon_headers(body)
    )
    assert response.status_code == 202, response.text
    return response.json()


class TestXWebhook:
    async def test_crc_challenge_is_answered_with_the_consumer_secret(
        self, social: httpx.AsyncClient
    ) -> None:
        response = await social.get("/v1/webhooks/x", params={"crc_token": "Y2hhbGxlbmdl"})
        assert response.status_code == 200
        assert response.json() == {
            "response_token": crc_response_token(sp.SECRETS["x"], "Y2hhbGxlbmdl")
        }

    async def test_mention_is_published_as_a_post(
        self, social: httpx.AsyncClient, hooks_topics: KafkaSettings, unique: str
    ) -> None:
        tid = str(int(unique, 16))
        answer = await _post_x(social, sp.x_created(sp.tweet(tid)))

        assert answer["accepted"] == 1
        [record] = await records_where(hooks_topics, SOCIAL_TOPIC, of_item("x", tid))
        event = decode(record)
        assert event.data.feedback_id == feedback_id_for("x", tid)
        assert event.data.social is not None and event.data.social.author == "@furiouscamper"
        assert event.data.text is not None and event.data.text.startswith("@acme my parcel")
        assert event.data.metadata["raw"]["id_str"] == tid

    async def test_redelivery_gets_the_same_event_id(
        self, social: httpx.AsyncClient, unique: str
    ) -> None:
        payload = sp.x_created(sp.tweet(str(int(unique, 16) + 1)))
        first = await _post_x(social, payload)
        again = await _post_x(social, payload)
        assert first["event_ids"] == again["event_ids"]

    async def test_deleted_tweet_is_a_newer_tombstone(
        self, social: httpx.AsyncClient, hooks_topics: KafkaSettings, unique: str
    ) -> None:
        tid = str(int(unique, 16) + 2)
        await _post_x(social, sp.x_created(sp.tweet(tid)))
        await _post_x(social, sp.x_deleted(tid))

        records = await records_where(hooks_topics, SOCIAL_TOPIC, of_item("x", tid), 2)
        posted, gone = (decode(r).data for r in records)
        assert gone.deleted is True
        assert gone.revision_rank > posted.revision_rank

    async def test_bad_signature_is_401_and_counted(self, social: httpx.AsyncClient) -> None:
        labels = {"vendor": "x", "reason": "bad_signature"}
        before = await metric(social, "voc_social_webhook_auth_failures_total", **labels)
        body = sp.dumps(sp.x_created())

        response = await social.post(
            "/v1/webhooks/x", content=body, headers=sp.x_headers(body, secret="guess")
        )

        assert (response.status_code, response.json()["detail"]) == (401, "bad_signature")
        assert await metric(social, "voc_social_webhook_auth_failures_total", **labels) == (
            before + 1
        )


class TestMastodonWebhook:
    async def test_status_is_published_as_plain_text(
        self, social: httpx.AsyncClient, hooks_topics: KafkaSettings, unique: str
    ) -> None:
        uri = f"https://mastodon.example/users/alice/statuses/{unique}"
        answer = await _post_mastodon(social, sp.mastodon(sp.mastodon_status(uri)))

        assert answer["accepted"] == 1
        [record] = await records_where(hooks_topics, SOCIAL_TOPIC, of_item("mastodon", uri))
        event = decode(record)
        assert event.data.text is not None and "<" not in event.data.text
        assert event.data.text.startswith("Ordered from @acme & the checkout kept failing.")
        assert event.data.metadata["raw"]["event"] == "status.created"

    async def test_edit_is_a_newer_revision_and_a_redelivery_is_not(
        self, social: httpx.AsyncClient, hooks_topics: KafkaSettings, unique: str
    ) -> None:
        uri = f"https://mastodon.example/users/alice/statuses/e{unique}"
        created = sp.mastodon(sp.mastodon_status(uri))
        edited = sp.mastodon(
            sp.mastodon_status(
                uri, content="<p>Fixed now, thanks!</p>", edited_at="2023-10-26T14:00:00.000Z"
            ),
            event="status.updated",
        )
        first = await _post_mastodon(social, created)
        again = await _post_mastodon(social, created)
        await _post_mastodon(social, edited)

        assert first["event_ids"] == again["event_ids"]
        records = await records_where(hooks_topics, SOCIAL_TOPIC, of_item("mastodon", uri), 3)
        old, _, new = (decode(r).data for r in records)
        assert new.revision_rank > old.revision_rank
        assert new.text == "Fixed now, thanks!"

    async def test_signature_with_another_secret_is_401(self, social: httpx.AsyncClient) -> None:
        body = sp.dumps(sp.mastodon())
        response = await social.post(
            "/v1/webhooks/mastodon",
            content=body,
            headers=sp.mastodon_headers(body, secret="md-secret-guess"),
        )
        assert (response.status_code, response.json()["detail"]) == (401, "bad_signature")

    async def test_direct_message_is_acknowledged_and_not_published(
        self, social: httpx.AsyncClient
    ) -> None:
        answer = await _post_mastodon(social, sp.mastodon(sp.mastodon_status(visibility="direct")))
        assert answer == {"accepted": 0, "event_ids": [], "fetch_queued": 0, "ignored": 1}


class TestSocialVendorsDisabled:
    @pytest.fixture
    async def bare(self, hooks_topics: KafkaSettings) -> AsyncIterator[httpx.AsyncClient]:
        async with running(create_app(social_settings(hooks_topics, secrets={}))) as client:
            yield client

    async def test_x_without_a_secret_answers_no_challenge(self, bare: httpx.AsyncClient) -> None:
        response = await bare.get("/v1/webhooks/x", params={"crc_token": "Y2hhbGxlbmdl"})
        assert (response.status_code, response.json()["error"]) == (404, "vendor_disabled")

    async def test_mastodon_without_a_secret_is_404_even_when_signed(
        self, bare: httpx.AsyncClient
    ) -> None:
        body = sp.dumps(sp.mastodon())
        response = await bare.post(
            "/v1/webhooks/mastodon", content=body, headers=sp.mastodon_headers(body)
        )
        assert (response.status_code, response.json()["error"]) == (404, "vendor_disabled")
