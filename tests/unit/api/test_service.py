"""Response shaping of the api service: score pages, touchpoints, verbatim pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from services.api.models import (
    CatalogEntry,
    FeedbackQuery,
    ScoreKey,
    ScoreQuery,
    decode_cursor,
    decode_score_cursor,
)
from services.api.scores import PART_KEYS
from services.api.service import (
    bound_feedback,
    bound_scores,
    feedback_page,
    scores_page,
    touchpoints_page,
)

T0 = datetime(2024, 3, 30, 23, tzinfo=UTC)


def parts(n: int = 0, **values: float) -> dict[str, float]:
    return {"n": n, **{k: 0 for k in PART_KEYS}, **values}


def query(**kw: object) -> ScoreQuery:
    return ScoreQuery(T0, T0 + timedelta(days=3), **kw)  # type: ignore[arg-type]


class TestScoresPage:
    def test_unknown_dimension_values_render_as_null_and_only_grouped_dims_appear(self) -> None:
        row = {**parts(2), "touchpoint": "checkout", "channel": "", "segment": "vip"}
        q = query(granularity="total", group_by=("touchpoint", "channel"))
        page = scores_page([row], q, 30)
        assert page.items[0].group == {"touchpoint": "checkout", "channel": None}
        assert page.items[0].bucket_start is None
        assert (page.min_n, page.next_cursor) == (30, None)

    def test_bucket_starts_are_written_in_the_requested_zone(self) -> None:
        row = {**parts(1), "bucket": T0}
        page = scores_page([row], query(tz="Europe/Berlin"), 30)
        start = page.items[0].bucket_start
        assert start == T0 and start is not None
        assert start.isoformat() == "2024-03-31T00:00:00+01:00"

    def test_a_full_page_plus_one_row_yields_a_cursor_at_the_last_served_row(self) -> None:
        q = query(group_by=("channel",), limit=2)
        rows = [{**parts(1), "bucket": T0, "channel": c} for c in ("", "email", "web")]
        page = scores_page(rows, q, 30)
        assert len(page.items) == 2 and page.next_cursor is not None
        assert decode_score_cursor(page.next_cursor, q.shape, 1) == ScoreKey(T0, ("email",))


class TestBoundScores:
    def test_two_end_rows_bound_the_export_at_the_first_and_point_past_it(self) -> None:
        q = query(group_by=("channel",), limit=10)
        ends = [{"bucket": T0, "channel": ""}, {"bucket": T0, "channel": "web"}]
        bounded, cursor = bound_scores(q, ends)
        assert bounded.until == ScoreKey(T0, ("",))
        assert cursor is not None and decode_score_cursor(cursor, q.shape, 1) == bounded.until

    @pytest.mark.parametrize("count", [0, 1])
    def test_fewer_than_two_end_rows_mean_the_last_page(self, count: int) -> None:
        q = query(limit=10)
        assert bound_scores(q, [{"bucket": T0}] * count) == (q, None)


class TestTouchpointsPage:
    def test_catalog_order_first_then_uncatalogued_touchpoints_by_name(self) -> None:
        catalog = [CatalogEntry("website", "consideration", "digital"),
                   CatalogEntry("checkout", "conversion", "ecommerce")]  # fmt: skip
        rows = [
            {**parts(4), "touchpoint": "checkout", "journey_stage": "conversion"},
            {**parts(2), "touchpoint": "zeppelin", "journey_stage": "awareness"},
            {**parts(1), "touchpoint": "kiosk", "journey_stage": ""},
        ]
        items = touchpoints_page(catalog, rows, min_n=3).items
        assert [(i.touchpoint, i.team, i.n) for i in items] == [
            ("website", "digital", 0), ("checkout", "ecommerce", 4),
            ("kiosk", None, 1), ("zeppelin", None, 2),
        ]  # fmt: skip
        assert items[2].journey_stage is None
        assert items[0].nps.value is None and items[0].low_confidence


def fact_row(moment: datetime) -> dict[str, object]:
    return {
        "feedback_id": UUID(int=moment.minute), "source_kind": "survey", "source": "api",
        "source_id": "1", "occurred_at": moment, "touchpoint": "checkout",
        "journey_stage": "conversion", "channel": "", "segment": "", "language": "en",
        "redacted_text": "hi [EMAIL]", "sentiment_label": None, "sentiment_score": None,
        "sentiment_confidence": None, "topics": [{"label": "delivery", "score": 0.9}],
        "nps": 9, "csat": None, "ces": None, "stars": None, "model_version": "m1",
    }  # fmt: skip


class TestFeedbackPage:
    def test_a_full_page_plus_one_row_yields_a_cursor_at_the_last_served_row(self) -> None:
        start = datetime(2024, 1, 1, tzinfo=UTC)
        rows = [fact_row(start - timedelta(minutes=i)) for i in range(3)]
        page = feedback_page(rows, limit=2)
        assert len(page.items) == 2
        assert page.next_cursor is not None
        assert decode_cursor(page.next_cursor).occurred_at == rows[1]["occurred_at"]
        assert page.items[0].channel is None and page.items[0].sentiment is None

    def test_a_short_page_is_the_last(self) -> None:
        page = feedback_page([fact_row(datetime(2024, 1, 1, tzinfo=UTC))], limit=2)
        assert page.next_cursor is None
        assert page.items[0].topics[0].label == "delivery"


class TestBoundFeedback:
    def test_two_end_rows_bound_the_export_and_give_the_next_cursor(self) -> None:
        ends = [fact_row(T0), fact_row(T0 - timedelta(minutes=1))]
        bounded, cursor = bound_feedback(FeedbackQuery(limit=5), ends)
        assert bounded.until is not None and bounded.until.occurred_at == T0
        assert cursor is not None and decode_cursor(cursor) == bounded.until

    def test_one_end_row_means_the_last_page(self) -> None:
        q = FeedbackQuery(limit=5)
        assert bound_feedback(q, [fact_row(T0)]) == (q, None)
