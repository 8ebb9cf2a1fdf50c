"""Trustpilot and Yelp webhooks on the reviews service, a real broker and a local Fusion API."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from services.reviews.app import create_app
from services.reviews.settings import ReviewsSettings
from shared.events import DLQ_TOPIC, RawFeedbackEvent
from shared.ids import feedback_id_for
from shared.ingest.webhooks.pending import FetchPendingEvent
from shared.ingest.webhooks.replay import replay_fetches
from shared.ingest.webhooks.settings import FetchTarget, RateLimit, WebhookSettings
from shared.kafka import ensure_topics
from shared.settings import KafkaSettings
from tests.integration.ingest.conftest import running
from tests.integration.ingest.webhooks.conftest import (
    MAX_WEBHOOK_BODY,
    VendorApi,
    decode,
    metric,
    of_item,
    records_where,
)
from tests.unit.ingest.webhooks import review_payloads as rp

REVIEW_TOPIC = RawFeedbackEvent.topic_for("review")
TP = rp.SECRETS["trustpilot"]
YELP = rp.SECRETS["yelp"]


def reviews_settings(kafka: KafkaSettings, api: VendorApi, **hooks: Any) -> ReviewsSettings:
    yelp_api = FetchTarget(
        base_url=f"{api.base_url}/yelp/v3",
        token=SecretStr("yelp-fusion-key"),
        max_attempts=2,
        backoff_s=0.05,
        backoff_max_s=0.1,
        rate_limit=RateLimit(per_s=100, burst=20),
    )
    webhooks = {
        "secrets": {k: SecretStr(v) for k, v in rp.SECRETS.items()},
        "max_body_bytes": MAX_WEBHOOK_BODY,
        "fetch": {"yelp": yelp_api},
        "fetch_group_id": f"reviews-fetch-{time.monotonic_ns()}",
        **hooks,
    }
    return ReviewsSettings(
        kafka=kafka,
        startup_wait_s=5.0,
        connect_retry_max_s=0.5,
        shutdown_timeout_s=5.0,
        webhooks=WebhookSettings.model_validate(webhooks),
    )


@pytest.fixture(scope="module")
async def reviews(
    hooks_topics: KafkaSettings, vendor_api: VendorApi
) -> AsyncIterator[httpx.AsyncClient]:
    await ensure_topics(hooks_topics, topics=[REVIEW_TOPIC], partitions=2)
    async with running(create_app(reviews_settings(hooks_topics, vendor_api))) as client:
        yield client


def _fusion_path(business: str, locale: str | None = "en_US") -> str:
    # Yelp's new-review events name the review's language, edits do not.
    query = "sort_by=newest&limit=50" + (f"&locale={locale}" if locale else "") + "&offset=0"
    return f"/yelp/v3/businesses/{business}/reviews?{query}"


async def _post(client: httpx.AsyncClient, vendor: str, body: bytes, token: str) -> Any:
    response = await client.post(
        f"/v1/webhooks/{vendor}", content=body, headers=rp.basic(token, user=vendor)
    )
    assert response.status_code == 202, response.text
    return response.json()


class TestTrustpilotWebhook:
    async def test_batch_is_published_one_event_per_review(
        self, reviews: httpx.AsyncClient, hooks_topics: KafkaSettings, unique: str
    ) -> None:
        body = rp.dumps(
            rp.trustpilot(
                rp.trustpilot_review(f"tp1-{unique}"),
                rp.trustpilot_review(f"tp2-{unique}", stars=2),
            )
        )

        answer = await _post(reviews, "trustpilot", body, TP)

        assert answer["accepted"] == 2
        [record] = await records_where(
            hooks_topics, REVIEW_TOPIC, of_item("trustpilot", f"tp2-{unique}")
        )
        event = decode(record)
        assert event.data.review is not None and event.data.review.stars == 2
        assert event.data.feedback_id == feedback_id_for("trustpilot", f"tp2-{unique}")
        assert event.data.metadata["raw"]["eventData"]["id"] == f"tp2-{unique}"
        assert event.data.text == "Great service\n\nNothing other than excellent customer service."

    async def test_redelivery_gets_the_same_event_id(
        self, reviews: httpx.AsyncClient, unique: str
    ) -> None:
        body = rp.dumps(rp.trustpilot(rp.trustpilot_review(f"tp-again-{unique}")))
        first = await _post(reviews, "trustpilot", body, TP)
        again = await _post(reviews, "trustpilot", body, TP)
        assert first["event_ids"] == again["event_ids"]

    async def test_update_then_delete_are_newer_versions_of_the_review(
        self, reviews: httpx.AsyncClient, hooks_topics: KafkaSettings, unique: str
    ) -> None:
        rid = f"tp-life-{unique}"
        updated = rp.trustpilot_review(rid, event="service-review-updated", stars=1)
        for payload in (
            rp.trustpilot(rp.trustpilot_review(rid)),
            rp.trustpilot(updated),
            rp.trustpilot(rp.trustpilot_deleted(rid)),
        ):
            await _post(reviews, "trustpilot", rp.dumps(payload), TP)

        records = await records_where(hooks_topics, REVIEW_TOPIC, of_item("trustpilot", rid), 3)
        created, edit, gone = (decode(r).data for r in records)  # one key, one partition: in order
        assert created.revision_rank < edit.revision_rank < gone.revision_rank
        assert (created.review.stars, edit.review.stars) == (5, 1)  # type: ignore[union-attr]
        assert gone.deleted is True and gone.review is None

    async def test_wrong_token_is_401_and_counted(self, reviews: httpx.AsyncClient) -> None:
        labels = {"vendor": "trustpilot", "reason": "bad_token"}
        before = await metric(reviews, "voc_reviews_webhook_auth_failures_total", **labels)

        response = await reviews.post(
            "/v1/webhooks/trustpilot",
            content=rp.dumps(rp.trustpilot()),
            headers=rp.basic("tp-token-guess", user="trustpilot"),
        )

        assert (response.status_code, response.json()["detail"]) == (401, "bad_token")
        assert await metric(reviews, "voc_reviews_webhook_auth_failures_total", **labels) == (
            before + 1
        )

    async def test_missing_stars_is_422_naming_the_vendor_field(
        self, reviews: httpx.AsyncClient
    ) -> None:
        review = rp.trustpilot_review()
        del review["eventData"]["stars"]
        response = await reviews.post(
            "/v1/webhooks/trustpilot",
            content=rp.dumps(rp.trustpilot(review)),
            headers=rp.bearer(TP),
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "events", 0, "eventData", "stars"]


class TestYelpWebhook:
    async def test_url_verification_is_answered(self, reviews: httpx.AsyncClient) -> None:
        response = await reviews.get("/v1/webhooks/yelp", params={"verification": "Zx81kQ"})
        assert (response.status_code, response.json()) == (200, {"verification": "Zx81kQ"})

    async def test_notified_review_is_fetched_and_published(
        self,
        reviews: httpx.AsyncClient,
        hooks_topics: KafkaSettings,
        vendor_api: VendorApi,
        unique: str,
    ) -> None:
        business, rid = f"biz-{unique}", f"yr-{unique}"
        page = rp.yelp_reviews(rp.yelp_review("older"), rp.yelp_review(rid, rating=2.0))
        vendor_api.serve(_fusion_path(business), (200, page))

        answer = await _post(
            reviews, "yelp", rp.dumps(rp.yelp(rp.yelp_update(rid), business=business)), YELP
        )

        assert (answer["accepted"], answer["fetch_queued"]) == (0, 1)
        [record] = await records_where(hooks_topics, REVIEW_TOPIC, of_item("yelp", rid))
        event = decode(record)
        assert event.data.review is not None and event.data.review.stars == 2
        assert event.data.revision == "2020-10-10T19:30:20+00:00"  # Pacific time_created in UTC
        assert event.data.metadata["raw"]["webhook"]["data"]["id"] == business
        [(_, headers)] = [s for s in vendor_api.seen if s[0] == _fusion_path(business)]
        assert headers["authorization"] == "Bearer yelp-fusion-key"

    async def test_redelivered_notification_yields_the_same_event_id(
        self,
        reviews: httpx.AsyncClient,
        hooks_topics: KafkaSettings,
        vendor_api: VendorApi,
        unique: str,
    ) -> None:
        business, rid = f"biz-again-{unique}", f"yr-again-{unique}"
        vendor_api.serve(_fusion_path(business), (200, rp.yelp_reviews(rp.yelp_review(rid))))
        body = rp.dumps(rp.yelp(rp.yelp_update(rid), business=business))

        await _post(reviews, "yelp", body, YELP)
        await _post(reviews, "yelp", body, YELP)

        records = await records_where(hooks_topics, REVIEW_TOPIC, of_item("yelp", rid), 2)
        assert len({decode(r).event_id for r in records}) == 1

    async def test_edited_review_is_a_newer_revision(
        self,
        reviews: httpx.AsyncClient,
        hooks_topics: KafkaSettings,
        vendor_api: VendorApi,
        unique: str,
    ) -> None:
        business, rid = f"biz-edit-{unique}", f"yr-edit-{unique}"
        edited = rp.yelp_review(rid, rating=4, time_created="2020-10-12 09:00:00")
        vendor_api.serve(
            _fusion_path(business), (200, rp.yelp_reviews(rp.yelp_review(rid, rating=2)))
        )
        vendor_api.serve(_fusion_path(business, locale=None), (200, rp.yelp_reviews(edited)))
        await _post(
            reviews, "yelp", rp.dumps(rp.yelp(rp.yelp_update(rid), business=business)), YELP
        )
        await records_where(hooks_topics, REVIEW_TOPIC, of_item("yelp", rid))
        edit = rp.yelp(
            rp.yelp_update(rid, event_type="REVIEW_EDITED_EVENT"),
            business=business,
            time="2020-10-12T16:00:05",
        )
        await _post(reviews, "yelp", rp.dumps(edit), YELP)

        records = await records_where(hooks_topics, REVIEW_TOPIC, of_item("yelp", rid), 2)
        old, new = (decode(r).data for r in records)
        assert new.revision_rank > old.revision_rank
        assert (old.review.stars, new.review.stars) == (2, 4)  # type: ignore[union-attr]

    async def test_removed_review_is_a_tombstone_without_a_fetch(
        self,
        reviews: httpx.AsyncClient,
        hooks_topics: KafkaSettings,
        vendor_api: VendorApi,
        unique: str,
    ) -> None:
        business, rid = f"biz-gone-{unique}", f"yr-gone-{unique}"
        removed = rp.yelp(rp.yelp_update(rid, event_type="REVIEW_REMOVED_EVENT"), business=business)

        answer = await _post(reviews, "yelp", rp.dumps(removed), YELP)

        assert answer["accepted"] == 1
        [record] = await records_where(hooks_topics, REVIEW_TOPIC, of_item("yelp", rid))
        assert decode(record).data.deleted is True
        assert vendor_api.calls(_fusion_path(business)) == 0

    async def test_fetch_that_fails_for_good_is_dead_lettered_then_replayed(
        self,
        reviews: httpx.AsyncClient,
        hooks_topics: KafkaSettings,
        vendor_api: VendorApi,
        unique: str,
    ) -> None:
        business, rid = f"biz-down-{unique}", f"yr-down-{unique}"
        vendor_api.serve(_fusion_path(business), (503, {"error": {"code": "SERVICE_UNAVAILABLE"}}))

        await _post(
            reviews, "yelp", rp.dumps(rp.yelp(rp.yelp_update(rid), business=business)), YELP
        )

        def mine(record: Any) -> bool:
            return FetchPendingEvent.model_validate_json(record.value).data.source_id == rid

        [dead] = await records_where(hooks_topics, DLQ_TOPIC, mine)
        headers = dict(dead.headers)
        assert (headers["dlq_reason"], headers["dlq_error"]) == (b"fetch_failed", b"http_503")
        assert vendor_api.calls(_fusion_path(business)) == 2  # max_attempts

        vendor_api.serve(_fusion_path(business), (200, rp.yelp_reviews(rp.yelp_review(rid))))
        report = await replay_fetches(
            hooks_topics, vendor="yelp", group_id=f"replay-yelp-{unique}", idle_s=1.0
        )

        assert report.replayed >= 1
        [record] = await records_where(hooks_topics, REVIEW_TOPIC, of_item("yelp", rid))
        assert decode(record).data.review.stars == 5  # type: ignore[union-attr]


class TestReviewVendorsDisabled:
    @pytest.fixture
    async def bare(
        self, hooks_topics: KafkaSettings, vendor_api: VendorApi
    ) -> AsyncIterator[httpx.AsyncClient]:
        """Trustpilot without a secret; Yelp with a secret but no Fusion API key."""
        settings = reviews_settings(
            hooks_topics, vendor_api, secrets={"yelp": SecretStr(YELP)}, fetch={}
        )
        async with running(create_app(settings)) as client:
            yield client

    @pytest.mark.parametrize("vendor", ["trustpilot", "yelp"])
    async def test_vendor_is_404_disabled_even_with_a_valid_token(
        self, bare: httpx.AsyncClient, vendor: str
    ) -> None:
        response = await bare.post(
            f"/v1/webhooks/{vendor}",
            content=rp.dumps(rp.trustpilot() if vendor == "trustpilot" else rp.yelp()),
            headers=rp.bearer(rp.SECRETS[vendor]),
        )
        assert (response.status_code, response.json()["error"]) == (404, "vendor_disabled")
