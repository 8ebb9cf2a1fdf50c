"""Trustpilot adapter: token auth, batched events, revisions, deletions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.reviews.adapters.trustpilot import TrustpilotAdapter
from services.reviews.models import ReviewIn
from shared.ingest.errors import InvalidPayload
from shared.ingest.webhooks import AuthFailure, Deletion, Ignored
from tests.unit.ingest.webhooks import review_payloads as tp
from tests.unit.ingest.webhooks.support import NOW, delivery, first_loc

TOKEN = tp.SECRETS["trustpilot"]


def _parse(payload: dict[str, Any]) -> list[Any]:
    return list(TrustpilotAdapter().parse(delivery("trustpilot", tp.dumps(payload), {})))


class TestTrustpilotAdapter:
    @pytest.mark.parametrize("headers", [tp.bearer(TOKEN), tp.basic(TOKEN, user="trustpilot")])
    def test_bearer_or_basic_token_verifies(self, headers: dict[str, str]) -> None:
        TrustpilotAdapter().verify(delivery("trustpilot", b"{}", headers), TOKEN)

    @pytest.mark.parametrize(
        ("headers", "reason"),
        [({}, "missing_token"), (tp.bearer("tp-token-guess"), "bad_token")],
    )
    def test_missing_or_wrong_token_fails(self, headers: dict[str, str], reason: str) -> None:
        with pytest.raises(AuthFailure) as exc:
            TrustpilotAdapter().verify(delivery("trustpilot", b"{}", headers), TOKEN)
        assert exc.value.reason == reason

    def test_created_review_maps_stars_text_consumer_and_tags(self) -> None:
        [item] = _parse(tp.trustpilot())

        assert isinstance(item, ReviewIn)
        assert (item.source, item.source_id) == ("trustpilot", tp.TP_REVIEW)
        assert (item.stars, item.title, item.platform) == (5, "Great service", "trustpilot")
        assert item.body == "Nothing other than excellent customer service."
        assert item.revision == "2017-05-20T09:34:44+00:00"  # createdAt, as ISO UTC
        assert item.language == "en"
        assert item.customer is not None and item.customer.id == "53bffc3900006400017e5db8"
        assert item.metadata["reference_id"] == "ABC-123-xyz"
        assert item.metadata["tags"] == ["delivery"]
        assert item.metadata["raw"]["eventData"]["id"] == tp.TP_REVIEW  # this event only

    def test_redelivered_batch_yields_the_same_revisions(self) -> None:
        payload = tp.trustpilot(tp.trustpilot_review(), tp.trustpilot_review("5f0c1d2e3a4b"))
        assert [i.revision for i in _parse(payload)] == [i.revision for i in _parse(payload)]

    def test_update_without_a_timestamp_is_newer_than_the_review(self) -> None:
        [created] = _parse(tp.trustpilot())
        [updated] = _parse(
            tp.trustpilot(tp.trustpilot_review(event="service-review-updated", stars=2))
        )

        assert created.source_id == updated.source_id
        assert updated.revision == NOW.isoformat()  # versioned by when we received it
        assert updated.revision > created.revision
        assert (created.stars, updated.stars) == (5, 2)

    def test_update_with_updated_at_uses_it_as_the_revision(self) -> None:
        review = tp.trustpilot_review(
            event="service-review-updated", updatedAt="2017-05-21T08:00:00.000Z"
        )
        [updated] = _parse(tp.trustpilot(review))
        assert updated.revision == "2017-05-21T08:00:00+00:00"

    def test_deleted_review_is_a_tombstone_newer_than_the_review(self) -> None:
        [gone] = _parse(tp.trustpilot(tp.trustpilot_deleted()))

        assert isinstance(gone, Deletion)
        assert gone.source_id == tp.TP_REVIEW
        assert gone.revision == NOW.isoformat()
        assert gone.raw == tp.trustpilot_deleted()

    def test_batch_keeps_each_events_order_and_kind(self) -> None:
        payload = tp.trustpilot(
            tp.trustpilot_review("r-1"),
            tp.trustpilot_deleted("r-2"),
            {"eventName": "product-review-created", "version": "1", "eventData": {"id": "p"}},
        )
        items = _parse(payload)
        assert [type(i) for i in items] == [ReviewIn, Deletion, Ignored]
        assert items[0].source_id == "r-1" and items[1].source_id == "r-2"

    def test_missing_created_at_is_named_with_its_event_index(self) -> None:
        review = tp.trustpilot_review()
        del review["eventData"]["createdAt"]
        with pytest.raises(InvalidPayload) as exc:
            _parse(tp.trustpilot(tp.trustpilot_review("ok"), review))
        assert first_loc(exc.value) == ["body", "events", 1, "eventData", "createdAt"]

    def test_empty_batch_is_invalid(self) -> None:
        with pytest.raises(InvalidPayload) as exc:
            TrustpilotAdapter().parse(delivery("trustpilot", b'{"events": []}', {}))
        assert first_loc(exc.value) == ["body", "events"]

    def test_out_of_range_stars_is_a_validation_error_of_our_field(self) -> None:
        with pytest.raises(ValidationError) as exc:
            _parse(tp.trustpilot(tp.trustpilot_review(stars=0)))
        assert exc.value.errors()[0]["loc"] == ("stars",)

    def test_deletion_time_of_its_own_is_preferred(self) -> None:
        event = tp.trustpilot_deleted()
        later = NOW - timedelta(minutes=5)
        event["eventData"]["deletedAt"] = later.isoformat()
        [gone] = _parse(tp.trustpilot(event))
        assert gone.revision == later.isoformat()
