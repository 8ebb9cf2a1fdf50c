"""Yelp adapter: token auth, URL verification, notifications queued, reviews fetched from Fusion."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.datastructures import Headers

from services.importer.formats import yelp as yelp_import
from services.reviews.adapters.yelp import YelpAdapter
from services.reviews.models import ReviewIn
from shared.ingest.errors import InvalidPayload
from shared.ingest.webhooks import (
    AuthFailure,
    Deletion,
    Delivery,
    FetchFailed,
    FetchRequest,
    Ignored,
)
from tests.unit.ingest.webhooks import review_payloads as yp
from tests.unit.ingest.webhooks.support import NOW, client, delivery, first_loc, pending

TOKEN = yp.SECRETS["yelp"]
REVIEW = "9CNz4nWU59PIZsiDV9sSVQ"


def _parse(payload: dict[str, Any]) -> list[Any]:
    return list(YelpAdapter().parse(delivery("yelp", yp.dumps(payload), {})))


async def _fetch(
    *pages: dict[str, Any], language: str = "en", max_pages: int = 4
) -> tuple[list[Any], list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = int(request.url.params["offset"]) // 50
        return httpx.Response(200, json=pages[min(page, len(pages) - 1)])

    [request] = _parse(yp.yelp(yp.yelp_update(REVIEW, language=language)))
    adapter = YelpAdapter(max_pages=max_pages)
    api = client("yelp", respond, headers=adapter.fetch_headers("fusion-key"))
    try:
        items = list(await adapter.fetch(api, pending("yelp", request, yp.yelp())))
    finally:
        await api.aclose()
    return items, seen


def _handshake(query: dict[str, str]) -> dict[str, Any] | None:
    probe = Delivery(
        vendor="yelp", method="GET", headers=Headers(), query=query, body=b"", received_at=NOW
    )
    return YelpAdapter().handshake(probe, TOKEN)


class TestYelpAdapter:
    def test_basic_auth_token_verifies(self) -> None:
        YelpAdapter().verify(delivery("yelp", b"{}", yp.basic(TOKEN, user="yelp")), TOKEN)

    def test_wrong_token_fails(self) -> None:
        with pytest.raises(AuthFailure) as exc:
            YelpAdapter().verify(delivery("yelp", b"{}", yp.bearer("guess")), TOKEN)
        assert exc.value.reason == "bad_token"

    def test_url_verification_echoes_yelps_string(self) -> None:
        assert _handshake({"verification": "abc123XYZ"}) == {"verification": "abc123XYZ"}

    def test_verification_without_the_string_is_invalid(self) -> None:
        with pytest.raises(InvalidPayload) as exc:
            _handshake({})
        assert first_loc(exc.value) == ["query", "verification"]

    def test_new_review_queues_a_fetch_of_its_business(self) -> None:
        [item] = _parse(yp.yelp())
        assert item == FetchRequest(
            source_id=REVIEW,
            delivery_id="NEW_REVIEW_EVENT:2020-10-10T19:30:27.731910+00:00",
            params={"business_id": yp.YELP_BUSINESS, "review_id": REVIEW, "language": "en"},
        )

    def test_redelivery_and_edit_differ_only_in_their_delivery(self) -> None:
        [first] = _parse(yp.yelp())
        [again] = _parse(yp.yelp())
        [edit] = _parse(
            yp.yelp(yp.yelp_update(event_type="REVIEW_EDITED_EVENT"), time="2020-10-12T08:00:00")
        )
        assert first == again
        assert edit.source_id == first.source_id and edit.delivery_id != first.delivery_id

    def test_removed_review_is_a_tombstone_at_yelps_time(self) -> None:
        [gone] = _parse(yp.yelp(yp.yelp_update(event_type="REVIEW_REMOVED_EVENT")))
        assert isinstance(gone, Deletion)
        assert (gone.source_id, gone.revision) == (REVIEW, "2020-10-10T19:30:27.731910+00:00")

    def test_missing_business_id_is_named(self) -> None:
        payload = yp.yelp()
        del payload["data"]["id"]
        with pytest.raises(InvalidPayload) as exc:
            _parse(payload)
        assert first_loc(exc.value) == ["body", "data", "id"]

    def test_other_products_updates_are_ignored(self) -> None:
        lead = {"event_type": "NEW_EVENT", "event_id": "IsKxQAYZ", "lead_id": "TbvEUYEi"}
        [item] = _parse(yp.yelp(lead))
        assert isinstance(item, Ignored)

    def test_review_event_without_review_id_is_named(self) -> None:
        update = yp.yelp_update()
        del update["review_id"]
        with pytest.raises(InvalidPayload) as exc:
            _parse(yp.yelp(yp.yelp_update("fine"), update))
        assert first_loc(exc.value) == ["body", "data", "updates", 1, "review_id"]

    async def test_fetched_review_is_mapped_like_the_importer_does(self) -> None:
        page = yp.yelp_reviews(yp.yelp_review("other"), yp.yelp_review(REVIEW, rating=4.0))

        [item], [request] = await _fetch(page)

        assert isinstance(item, ReviewIn)
        assert (item.source, item.source_id, item.stars) == ("yelp", REVIEW, 4)
        # 12:30:20 Pacific daylight time is 19:30:20 UTC: revision and occurred_at alike.
        assert item.revision == "2020-10-10T19:30:20+00:00"
        assert item.occurred_at.isoformat() == "2020-10-10T19:30:20+00:00"
        assert item.metadata["business_id"] == yp.YELP_BUSINESS
        assert item.metadata["raw"]["fetched"]["id"] == REVIEW
        assert item.metadata["raw"]["webhook"]["object"] == "business"
        assert request.url.path == f"/v3/businesses/{yp.YELP_BUSINESS}/reviews"
        assert dict(request.url.params) == {
            "sort_by": "newest",
            "limit": "50",
            "offset": "0",
            "locale": "en_US",
        }
        assert request.headers["authorization"] == "Bearer fusion-key"

    async def test_review_further_down_is_found_on_a_later_page(self) -> None:
        first = yp.yelp_reviews(*(yp.yelp_review(f"r{n}") for n in range(50)), total=120)
        second = yp.yelp_reviews(yp.yelp_review(REVIEW), total=120)

        [item], requests = await _fetch(first, second)

        assert item.source_id == REVIEW
        assert [r.url.params["offset"] for r in requests] == ["0", "50"]

    async def test_review_not_listed_fails_the_fetch_for_the_dead_letter_path(self) -> None:
        page = yp.yelp_reviews(*(yp.yelp_review(f"r{n}") for n in range(50)), total=500)

        with pytest.raises(FetchFailed) as exc:
            await _fetch(page, max_pages=2)

        assert exc.value.reason == "review_not_listed"

    async def test_half_star_rating_is_a_validation_error(self) -> None:
        page = yp.yelp_reviews(yp.yelp_review(REVIEW, rating=3.5))
        with pytest.raises(ValueError, match="stars"):
            await _fetch(page)

    async def test_webhook_and_bulk_import_name_the_same_version(self) -> None:
        # Winter time this once (UTC-8), so the zone conversion is checked on both sides.
        raw = yp.yelp_review(REVIEW, time_created="2025-12-02 09:12:44")
        [item], _ = await _fetch(yp.yelp_reviews(raw))

        imported = ReviewIn.model_validate(yelp_import.to_item(raw))

        assert (imported.source, imported.source_id) == (item.source, item.source_id)
        assert imported.revision_text() == item.revision_text() == "2025-12-02T17:12:44+00:00"
