"""`voc import` through the real ingestion apps onto the real broker's raw topics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from services.importer.summary import Summary
from shared.ids import event_id_for, feedback_id_for
from tests.integration.importer.conftest import FIXTURES, Ingestion


def write_jsonl(path: Path, items: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(item) + b"\n" for item in items))
    return path


def survey(source: str, n: int, **fields: Any) -> dict[str, Any]:
    base = {"source": source, "source_id": f"s-{n}", "occurred_at": "2025-11-20T10:00:00Z"}
    return {**base, "nps": n % 11, "comment": f"answer {n}", **fields}


def accounted(summary: Summary) -> int:
    skipped = summary.skipped.total()
    return summary.accepted + len(summary.duplicates) + skipped + len(summary.rejected)


class TestCanonicalImport:
    async def test_bad_lines_are_reported_by_line_and_the_rest_is_published(
        self, ingestion: Ingestion
    ) -> None:
        summary = await ingestion.import_file(FIXTURES / "tickets.jsonl", "jsonl", "tickets")

        assert (summary.read, summary.accepted, summary.exit_code()) == (6, 3, 1)
        assert accounted(summary) == summary.read
        assert [(d.where, d.first) for d in summary.duplicates] == [("line 6", "line 1")]
        rejected = [(r.line, r.reason) for r in summary.sorted_rejections()]
        assert rejected[0][0] == 3 and rejected[0][1].startswith("csat: ")
        assert rejected[1][0] == 7 and rejected[1][1].startswith("invalid JSON")
        events = {e.data.source_id: e for e in await ingestion.events("tickets", "helpdesk")}
        assert set(events) == {"jl-5001", "jl-5002", "jl-5004"}
        first = events["jl-5001"]
        assert first.data.revision == "2025-11-25T12:00:00+00:00"
        assert first.data.ticket is not None and first.data.ticket.tags == ["billing", "invoice"]
        assert first.event_id == event_id_for("helpdesk", "jl-5001", first.data.revision)

    async def test_second_import_of_the_same_file_adds_no_new_event_ids(
        self, ingestion: Ingestion, tmp_path: Path, unique: str
    ) -> None:
        source = f"rerun{unique}"
        path = write_jsonl(tmp_path / "s.jsonl", [survey(source, n) for n in range(5)])

        first = await ingestion.import_file(path, "jsonl", "surveys")
        ids_after_first = {e.event_id for e in await ingestion.events("surveys", source)}
        again = await ingestion.import_file(path, "jsonl", "surveys")
        events_after_again = await ingestion.events("surveys", source)

        assert first.accepted == again.accepted == 5
        assert first.exit_code() == again.exit_code() == 0
        assert len(events_after_again) == 10  # re-sent on the wire ...
        assert {e.event_id for e in events_after_again} == ids_after_first  # ... as the same ids
        assert ids_after_first == {event_id_for(source, f"s-{n}", "0") for n in range(5)}

    async def test_every_invalid_item_is_found_beyond_the_services_error_cap(
        self, ingestion: Ingestion, tmp_path: Path, unique: str
    ) -> None:
        # The service names at most 50 errors per answer; 60 bad items need a second round.
        source = f"cap{unique}"
        items = [survey(source, n, nps=11 if n % 2 else 5) for n in range(120)]
        path = write_jsonl(tmp_path / "cap.jsonl", items)

        summary = await ingestion.import_file(path, "jsonl", "surveys", batch_size=120)

        assert summary.accepted == 60
        assert [r.line for r in summary.sorted_rejections()] == list(range(2, 121, 2))
        assert all(r.reason.startswith("nps: ") for r in summary.rejected)
        events = await ingestion.events("surveys", source)
        assert sorted(int(e.data.source_id[2:]) for e in events) == list(range(0, 120, 2))

    async def test_csv_columns_nest_and_multiline_cells_keep_their_line(
        self, ingestion: Ingestion
    ) -> None:
        summary = await ingestion.import_file(FIXTURES / "surveys.csv", "csv", "surveys")

        assert (summary.read, summary.accepted, summary.rejected) == (3, 3, [])
        events = {e.data.source_id: e.data for e in await ingestion.events("surveys", "typeform")}
        assert events["csv-r-1001"].survey is not None and events["csv-r-1001"].survey.nps == 9
        assert events["csv-r-1001"].metadata == {"form_id": "checkout"}
        assert events["csv-r-1002"].customer.segment == "enterprise"
        assert events["csv-r-1002"].text == "Die Rechnung war falsch,\nund niemand hat geantwortet."
        assert events["csv-r-1003"].survey is not None and events["csv-r-1003"].survey.csat == 4


class TestVendorImport:
    async def test_google_play_reviews_keep_the_vendor_ids_and_times(
        self, ingestion: Ingestion
    ) -> None:
        summary = await ingestion.import_file(FIXTURES / "googleplay_reviews.json", "googleplay")

        assert (summary.read, summary.accepted, summary.exit_code()) == (4, 4, 0)
        events = await ingestion.events("reviews", "googleplay")
        first = next(e for e in events if e.data.source_id.startswith("gp:AOqpTOFm"))
        assert first.data.revision == "2025-11-29T10:00:00.231000+00:00"
        assert first.data.review is not None and first.data.review.title == "Great app"
        assert first.data.language_hint == "en"

    async def test_app_store_reviews_are_published_in_utc(self, ingestion: Ingestion) -> None:
        summary = await ingestion.import_file(
            FIXTURES / "appstore_customer_reviews.json", "appstore"
        )

        assert (summary.accepted, summary.exit_code()) == (3, 0)
        events = {e.data.source_id: e.data for e in await ingestion.events("reviews", "appstore")}
        spanish = events["00000028-b08c-0014-9674-c54800000000"]
        assert spanish.revision == "2025-11-30T22:19:36+00:00"
        assert spanish.review is not None and spanish.review.stars == 2

    async def test_yelp_review_has_the_feedback_id_a_yelp_webhook_would_give(
        self, ingestion: Ingestion
    ) -> None:
        summary = await ingestion.import_file(FIXTURES / "yelp_business_reviews.json", "yelp")

        assert (summary.accepted, summary.exit_code()) == (3, 0)
        events = {e.data.source_id: e for e in await ingestion.events("reviews", "yelp")}
        event = events["xAG4O7l-t1ubbwVAlPnDKg"]
        assert event.data.feedback_id == feedback_id_for("yelp", "xAG4O7l-t1ubbwVAlPnDKg")
        assert event.data.occurred_at.isoformat() == "2025-07-15T01:35:02+00:00"  # PDT + 7 h

    async def test_reddit_thread_publishes_post_and_comments_but_not_deleted_ones(
        self, ingestion: Ingestion
    ) -> None:
        summary = await ingestion.import_file(FIXTURES / "reddit_comments.json", "reddit")

        assert (summary.read, summary.accepted, summary.exit_code()) == (5, 4, 0)
        assert accounted(summary) == summary.read
        assert dict(summary.skipped) == {"deleted on Reddit": 1}
        events = {e.data.source_id: e.data for e in await ingestion.events("social", "reddit")}
        assert set(events) == {"t3_1h5qz3k", "t1_m0a1b2c", "t1_m0a3d4e", "t1_m0a7h8i"}
        edited = events["t1_m0a1b2c"]
        assert edited.revision == "2025-12-01T13:20:00+00:00"  # the edit, not the creation
        assert edited.social is not None and edited.social.engagement.replies == 2
        assert edited.metadata["subreddit"] == "BuyItForLife"

    async def test_zendesk_ticket_update_is_a_new_revision_of_the_same_item(
        self, ingestion: Ingestion
    ) -> None:
        listed = await ingestion.import_file(FIXTURES / "zendesk_tickets.json", "zendesk")
        single = await ingestion.import_file(FIXTURES / "zendesk_ticket.json", "zendesk")

        assert (listed.accepted, single.accepted) == (3, 1)
        versions = [
            e for e in await ingestion.events("tickets", "zendesk") if e.data.source_id == "35436"
        ]
        by_revision = {e.data.revision: e for e in versions}
        old = by_revision["2025-11-30T16:45:12+00:00"]
        new = by_revision["2025-12-02T10:00:00+00:00"]
        assert old.data.feedback_id == new.data.feedback_id == feedback_id_for("zendesk", "35436")
        assert old.event_id != new.event_id
        assert new.data.revision_rank > old.data.revision_rank
        assert new.data.ticket is not None
        assert (new.data.ticket.csat, new.data.ticket.first_response_seconds) == (5, 2760.0)
