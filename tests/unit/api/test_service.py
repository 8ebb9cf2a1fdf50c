"""Response shaping of the api service: score pages, touchpoints, verbatim pages."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from pydantic import TypeAdapter

from services.api.models import (
    CatalogEntry,
    FeedbackQuery,
    ScoreKey,
    ScoreQuery,
    decode_cursor,
    decode_score_cursor,
)
from services.api.schemas import ScoresPage
from services.api.scores import PART_KEYS
from services.api.service import (
    bound_feedback,
    bound_scores,
    feedback_page,
    scores_page,
    scores_response,
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


def random_rows(rng: random.Random, count: int, group_by: tuple[str, ...]) -> list[dict[str, Any]]:
    """Summed parts as the database returns them: consistent counts and sums, sometimes empty
    or tiny (null values, n < 2), non-ASCII group values, sentiment sums of arbitrary floats."""
    rows = []
    for i in range(count):
        n = rng.choice([0, 1, 2, 3, 40, rng.randrange(1, 5000)])
        row: dict[str, Any] = {"bucket": T0 + timedelta(hours=i), "n": n}
        for prefix in ("nps", "enps"):
            k = rng.randrange(n + 1)
            p = rng.randrange(k + 1)
            d = rng.randrange(k - p + 1)
            row |= {f"{prefix}_n": k, f"{prefix}_promoters": p, f"{prefix}_detractors": d,
                    f"{prefix}_passives": k - p - d}  # fmt: skip
        csat = rng.randrange(n + 1)
        answers = [rng.randint(1, 5) for _ in range(csat)]
        row |= {"csat_n": csat, "csat_sum": sum(answers),
                "csat_satisfied": sum(a >= 4 for a in answers)}  # fmt: skip
        for block, top in (("ces", 7), ("stars", 5)):
            values = [rng.randint(1, top) for _ in range(rng.randrange(min(n, 300) + 1))]
            row |= {f"{block}_n": len(values), f"{block}_sum": sum(values),
                    f"{block}_sumsq": sum(v * v for v in values)}  # fmt: skip
        row["ces_easy"] = rng.randrange(row["ces_n"] + 1)
        scores = [rng.uniform(-1, 1) for _ in range(rng.randrange(min(n, 300) + 1))]
        row |= {"sentiment_n": len(scores), "sentiment_sum": sum(scores),
                "sentiment_sumsq": sum(s * s for s in scores),
                "sentiment_negative": sum(s < -0.2 for s in scores)}  # fmt: skip
        for dim in group_by:
            row[dim] = rng.choice(["", "checkout", "möbel-ärenden", "доставка"])
        rows.append(row)
    return rows


class TestScoresResponse:
    """The fast JSON path against the model path FastAPI serialises (validate, then dump)."""

    @pytest.mark.parametrize("seed", range(6))
    def test_bytes_equal_the_models_rendering_on_generated_rows(self, seed: int) -> None:
        rng = random.Random(seed)
        group_by = rng.choice([(), ("touchpoint",), ("channel", "segment")])
        granularity = rng.choice(["hour", "day", "total"])
        tz = rng.choice(["UTC", "Europe/Berlin", "Asia/Tehran", "America/St_Johns"])
        limit = rng.choice([5, 50, 5000])
        q = query(granularity=granularity, group_by=group_by, tz=tz, limit=limit)
        rows = random_rows(rng, 60, group_by)
        if granularity == "total":
            rows = [{k: v for k, v in r.items() if k != "bucket"} for r in rows]
        min_n = rng.choice([1, 30])
        adapter = TypeAdapter(ScoresPage)
        page = adapter.validate_python(scores_page(rows, q, min_n).model_dump())
        response = scores_response(rows, q, min_n)
        assert response.body == adapter.dump_json(page)
        assert response.media_type == "application/json"

    def test_the_next_cursor_is_the_model_paths(self) -> None:
        rows = random_rows(random.Random(9), 8, ("touchpoint",))
        q = query(group_by=("touchpoint",), limit=5)
        body = json.loads(scores_response(rows, q, 30).body)
        assert body["next_cursor"] == scores_page(rows, q, 30).next_cursor is not None
        assert len(body["items"]) == 5
