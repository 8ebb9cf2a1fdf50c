from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from shared.ids import event_id_for, feedback_id_for, revision_rank


class TestIdentity:
    def test_same_item_gets_same_feedback_id(self) -> None:
        assert feedback_id_for("typeform", "r-1") == feedback_id_for("typeform", "r-1")

    def test_ids_are_uuid5(self) -> None:
        assert feedback_id_for("typeform", "r-1").version == 5
        assert event_id_for("typeform", "r-1", "0").version == 5

    def test_source_system_is_part_of_identity(self) -> None:
        assert feedback_id_for("typeform", "r-1") != feedback_id_for("delighted", "r-1")

    def test_parts_do_not_run_together(self) -> None:
        assert feedback_id_for("ab", "c") != feedback_id_for("a", "bc")

    def test_new_revision_is_a_new_event_of_the_same_item(self) -> None:
        assert event_id_for("x", "1", "1") != event_id_for("x", "1", "2")

    def test_ids_are_stable_across_releases(self) -> None:
        # Changing the namespace would re-key every stored item: pin one value.
        assert feedback_id_for("typeform", "r-1") == UUID("f84d34e5-619d-5912-9a69-1fe05d4919b6")


class TestRevisionRank:
    def test_integer_revisions_order_numerically(self) -> None:
        assert revision_rank("10") > revision_rank("9")

    def test_timestamps_order_in_time(self) -> None:
        assert revision_rank("2026-01-02T00:00:00Z") > revision_rank("2026-01-01T23:59:59+00:00")

    def test_naive_timestamp_is_utc(self) -> None:
        ts = datetime(2026, 1, 1, tzinfo=UTC)
        assert revision_rank("2026-01-01T00:00:00") == int(ts.timestamp() * 1_000_000)

    def test_default_revision_ranks_below_any_timestamp(self) -> None:
        assert revision_rank("0") < revision_rank("2020-01-01T00:00:00Z")

    def test_opaque_revision_ranks_zero(self) -> None:
        assert revision_rank("etag-abc") == 0
