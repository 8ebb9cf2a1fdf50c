"""Vendor API responses to canonical items: ids, revisions in UTC, text, and what is skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from services.importer.errors import FormatError
from services.importer.formats import appstore, googleplay, reddit, yelp, zendesk
from services.importer.formats.vendor import Skipped, load_pages
from services.importer.records import Record

FIXTURES = Path(__file__).parents[2] / "fixtures" / "import"


def _items(records: list[Record]) -> list[dict[str, Any]]:
    return [r.item for r in records if r.item is not None]


class TestGooglePlay:
    def test_review_maps_ids_stars_and_protobuf_time_in_utc(self) -> None:
        records = list(googleplay.read(FIXTURES / "googleplay_reviews.json"))

        first = records[0].item
        assert first is not None
        assert records[0].where.startswith("reviews[0] (id gp:AOqpTOFm")
        assert first["source"] == "googleplay" and first["source_id"].startswith("gp:AOqpTOFm")
        assert first["occurred_at"] == first["updated_at"] == "2025-11-29T10:00:00.231000+00:00"
        assert (first["stars"], first["platform"]) == (5, "google_play")
        assert (first["language"], first["customer"]) == ("en", {"locale": "en_GB"})
        assert first["metadata"]["developer_replied"] is True

    def test_tab_separates_title_from_body(self) -> None:
        first = _items(list(googleplay.read(FIXTURES / "googleplay_reviews.json")))[0]

        assert first["title"] == "Great app"
        assert first["body"].startswith("Tracking my order was easy")

    def test_original_text_wins_over_the_requested_translation(self) -> None:
        german = _items(list(googleplay.read(FIXTURES / "googleplay_reviews.json")))[1]

        assert german["body"].startswith("Die App stürzt")
        assert german["language"] == "de"

    def test_review_without_a_user_comment_is_skipped(self) -> None:
        reply_only = {"reviewId": "r", "comments": [{"developerComment": {"text": "Thanks"}}]}

        with pytest.raises(Skipped):
            googleplay.to_item(reply_only)

    def test_missing_last_modified_is_an_error_of_that_review(self) -> None:
        review = {"reviewId": "r", "comments": [{"userComment": {"text": "x", "starRating": 3}}]}

        with pytest.raises(ValueError, match="lastModified"):
            googleplay.to_item(review)


class TestAppStore:
    def test_created_date_with_offset_becomes_utc(self) -> None:
        items = _items(list(appstore.read(FIXTURES / "appstore_customer_reviews.json")))

        assert [i["occurred_at"] for i in items] == [
            "2025-11-29T16:10:34+00:00",
            "2025-11-30T22:19:36+00:00",
            "2025-12-01T09:02:11+00:00",
        ]
        assert items[1]["metadata"] == {"territory": "ESP"}
        assert (items[1]["stars"], items[1]["title"]) == (2, "Facturación confusa")

    def test_single_review_response_is_one_item(self, tmp_path: Path) -> None:
        doc = orjson.loads((FIXTURES / "appstore_customer_reviews.json").read_bytes())
        path = tmp_path / "one.json"
        path.write_bytes(orjson.dumps({"data": doc["data"][0], "links": {}}))

        [record] = list(appstore.read(path))

        assert record.where == "data (id 00000028-b08c-0014-729e-fbd500000000)"
        assert record.item is not None and record.item["stars"] == 5

    def test_other_resource_types_are_skipped(self) -> None:
        with pytest.raises(Skipped):
            appstore.to_item({"type": "customerReviewResponses", "id": "x", "attributes": {}})


class TestYelp:
    def test_pacific_time_is_converted_with_daylight_saving(self) -> None:
        items = _items(list(yelp.read(FIXTURES / "yelp_business_reviews.json")))

        assert items[0]["occurred_at"] == "2025-07-15T01:35:02+00:00"  # PDT, UTC-7
        assert items[1]["occurred_at"] == "2025-12-02T17:12:44+00:00"  # PST, UTC-8
        assert items[0]["source_id"] == "xAG4O7l-t1ubbwVAlPnDKg"
        assert items[0]["metadata"]["url"].startswith("https://www.yelp.com/biz/")

    def test_whole_float_rating_is_whole_stars(self) -> None:
        item = yelp.to_item({"id": "y", "rating": 4.0, "time_created": "2025-01-01 00:00:00"})

        assert item["stars"] == 4


class TestReddit:
    def test_thread_yields_post_comments_and_nested_replies_in_order(self) -> None:
        records = list(reddit.read(FIXTURES / "reddit_comments.json"))

        assert [r.item["source_id"] if r.item else r.skip for r in records] == [
            "t3_1h5qz3k",
            "t1_m0a1b2c",
            "t1_m0a3d4e",
            "deleted on Reddit",
            "t1_m0a7h8i",
        ]
        assert records[2].where.startswith("[1].data.children[0].data.replies.data.children[0]")

    def test_comment_maps_edit_time_engagement_and_permalink(self) -> None:
        items = {
            i["source_id"]: i for i in _items(list(reddit.read(FIXTURES / "reddit_comments.json")))
        }

        edited = items["t1_m0a1b2c"]
        assert edited["occurred_at"] == "2025-12-01T12:20:00+00:00"
        assert edited["updated_at"] == "2025-12-01T13:20:00+00:00"
        assert edited["engagement"] == {"likes": 23, "replies": 2}
        assert edited["url"] == (
            "https://www.reddit.com/r/BuyItForLife/comments/1h5qz3k/"
            "acme_kettle_delivery_and_returns_experience/m0a1b2c/"
        )
        downvoted = items["t1_m0a7h8i"]
        assert downvoted["engagement"]["likes"] == 0 and downvoted["metadata"]["score"] == -2
        post = items["t3_1h5qz3k"]
        assert post["text"].startswith("Acme kettle: delivery and returns experience?\n\nOrdered")

    def test_a_single_listing_is_read_too(self, tmp_path: Path) -> None:
        doc = orjson.loads((FIXTURES / "reddit_comments.json").read_bytes())
        path = tmp_path / "listing.json"
        path.write_bytes(orjson.dumps(doc[1]))

        records = list(reddit.read(path))

        assert records[0].where == "data.children[0] (id t1_m0a1b2c)"
        assert len(records) == 4

    def test_not_a_listing_is_a_format_error(self, tmp_path: Path) -> None:
        path = tmp_path / "x.json"
        path.write_bytes(b'{"kind": "t1", "data": {}}')

        with pytest.raises(FormatError, match="not a Reddit response"):
            list(reddit.read(path))


class TestZendesk:
    def test_ticket_maps_id_times_triage_and_binary_csat(self) -> None:
        items = _items(list(zendesk.read(FIXTURES / "zendesk_tickets.json")))

        first = items[0]
        assert (first["source"], first["source_id"]) == ("zendesk", "35436")
        assert first["updated_at"] == "2025-11-30T16:45:12+00:00"
        assert (first["status"], first["priority"], first["channel"]) == ("solved", "high", "email")
        assert first["tags"] == ["billing", "double_charge", "refund"]
        assert first["customer"] == {"id": "20978392"}
        assert first["metadata"]["satisfaction_comment"] == "Refund came quickly, thank you!"
        assert [i.get("csat") for i in items] == [5, 1, None]

    def test_single_ticket_takes_service_times_from_its_metric_set(self) -> None:
        [record] = list(zendesk.read(FIXTURES / "zendesk_ticket.json"))

        assert record.where == "ticket (id 35436)"
        assert record.item is not None
        assert record.item["first_response_seconds"] == 46 * 60
        assert record.item["resolution_seconds"] == 3331 * 60

    def test_deleted_ticket_is_skipped(self) -> None:
        with pytest.raises(Skipped, match="deleted"):
            zendesk.to_item({"id": 1, "status": "deleted"})

    def test_search_results_keep_only_tickets(self, tmp_path: Path) -> None:
        doc = orjson.loads((FIXTURES / "zendesk_ticket.json").read_bytes())
        ticket = {**doc["ticket"], "result_type": "ticket"}
        path = tmp_path / "search.json"
        path.write_bytes(orjson.dumps({"results": [ticket, {"result_type": "user", "id": 7}]}))

        records = list(zendesk.read(path))

        assert [r.where for r in records] == ["results[0] (id 35436)"]


class TestVendorFiles:
    def test_pages_saved_one_per_line_keep_their_line(self, tmp_path: Path) -> None:
        page = orjson.loads((FIXTURES / "yelp_business_reviews.json").read_bytes())
        path = tmp_path / "pages.jsonl"
        path.write_bytes(orjson.dumps(page) + b"\n\n" + orjson.dumps(page) + b"\n")

        records = list(yelp.read(path))

        assert [r.line for r in records] == [1, 1, 1, 3, 3, 3]
        assert records[3].where == "line 3: reviews[0] (id xAG4O7l-t1ubbwVAlPnDKg)"

    def test_file_that_is_not_json_is_a_format_error(self, tmp_path: Path) -> None:
        path = tmp_path / "x.json"
        path.write_text("reviewId,stars\n1,5\n")

        with pytest.raises(FormatError, match="line 1: not JSON"):
            load_pages(path)

    def test_response_of_another_shape_is_a_format_error(self) -> None:
        with pytest.raises(FormatError, match=r"not a Google Play reviews\.list response"):
            list(googleplay.read(FIXTURES / "zendesk_tickets.json"))

    def test_item_that_is_not_an_object_is_an_error_of_that_item(self, tmp_path: Path) -> None:
        path = tmp_path / "y.json"
        path.write_bytes(b'{"reviews": [42]}')

        [record] = list(yelp.read(path))

        assert (record.where, record.error) == ("reviews[0]", "expected an object")
