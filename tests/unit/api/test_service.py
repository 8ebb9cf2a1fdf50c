"""Score math and response shaping of the api service, against independent computations."""

from __future__ import annotations

import math
import random
import statistics
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from services.api.service import (
    PART_KEYS,
    CatalogEntry,
    Cursor,
    ces_score,
    csat_score,
    decode_cursor,
    encode_cursor,
    feedback_page,
    nps_score,
    parse_group_by,
    score_fields,
    scores_page,
    sentiment_score,
    stars_score,
    touchpoints_page,
)


def nps_parts(answers: list[int]) -> tuple[int, int, int, int]:
    promoters = sum(a >= 9 for a in answers)
    detractors = sum(a <= 6 for a in answers)
    return len(answers), promoters, len(answers) - promoters - detractors, detractors


def expected_nps(answers: list[int]) -> tuple[float, float]:
    """NPS as the mean of answers coded +100/0/-100, MOE from their population variance."""
    coded = [100 if a >= 9 else -100 if a <= 6 else 0 for a in answers]
    return statistics.fmean(coded), 1.96 * math.sqrt(statistics.pvariance(coded) / len(coded))


class TestNpsScore:
    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_random_answers_match_the_coded_mean_and_variance(self, seed: int) -> None:
        rng = random.Random(seed)
        answers = [rng.randint(0, 10) for _ in range(250)]
        value, moe = expected_nps(answers)
        score = nps_score(*nps_parts(answers))
        assert score.value == pytest.approx(value)
        assert score.moe == pytest.approx(moe)
        assert (score.promoters, score.passives, score.detractors) == nps_parts(answers)[1:]

    def test_no_answers_gives_null_value_and_moe(self) -> None:
        score = nps_score(0, 0, 0, 0)
        assert (score.value, score.moe, score.n) == (None, None, 0)

    def test_one_detractor_is_minus_100_with_zero_moe(self) -> None:
        score = nps_score(*nps_parts([3]))
        assert (score.value, score.moe, score.n) == (-100.0, 0.0, 1)

    def test_all_promoters_is_100_with_zero_moe(self) -> None:
        score = nps_score(*nps_parts([9, 10, 10, 9]))
        assert score.value == pytest.approx(100.0)
        assert score.moe == pytest.approx(0.0)

    def test_all_detractors_is_minus_100_with_zero_moe(self) -> None:
        score = nps_score(*nps_parts([0, 6, 2]))
        assert score.value == pytest.approx(-100.0)
        assert score.moe == pytest.approx(0.0)

    def test_half_promoters_half_detractors_has_the_widest_margin(self) -> None:
        answers = [10, 0] * 50
        value, moe = expected_nps(answers)
        score = nps_score(*nps_parts(answers))
        assert score.value == pytest.approx(value) == pytest.approx(0.0)
        assert score.moe == pytest.approx(moe)
        assert score.moe == pytest.approx(1.96 * 100 / math.sqrt(100))


class TestCsatScore:
    def test_random_answers_match_share_mean_and_moe(self) -> None:
        rng = random.Random(7)
        answers = [rng.randint(1, 5) for _ in range(137)]
        satisfied = [1 if a >= 4 else 0 for a in answers]
        score = csat_score(len(answers), sum(answers), sum(satisfied))
        assert score.value == pytest.approx(100 * statistics.fmean(satisfied))
        assert score.mean == pytest.approx(statistics.fmean(answers))
        sd = statistics.pstdev(satisfied)
        assert score.moe == pytest.approx(1.96 * 100 * sd / math.sqrt(len(answers)))

    def test_no_answers_gives_nulls(self) -> None:
        score = csat_score(0, 0, 0)
        assert (score.value, score.moe, score.mean, score.n) == (None, None, None, 0)

    def test_one_satisfied_answer_is_100_percent(self) -> None:
        score = csat_score(1, 5, 1)
        assert (score.value, score.moe, score.mean) == (100.0, 0.0, 5.0)


class TestCesScore:
    def test_random_answers_match_mean_and_share_easy(self) -> None:
        rng = random.Random(11)
        answers = [rng.randint(1, 7) for _ in range(90)]
        score = ces_score(len(answers), sum(answers), sum(a >= 5 for a in answers))
        assert score.value == pytest.approx(statistics.fmean(answers))
        assert score.share_easy == pytest.approx(100 * sum(a >= 5 for a in answers) / 90)

    def test_no_answers_gives_nulls(self) -> None:
        score = ces_score(0, 0, 0)
        assert (score.value, score.share_easy) == (None, None)


class TestStarsScore:
    def test_value_is_the_mean_rating(self) -> None:
        ratings = [5, 4, 4, 1, 3]
        assert stars_score(5, sum(ratings)).value == pytest.approx(statistics.fmean(ratings))

    def test_no_ratings_gives_null(self) -> None:
        assert stars_score(0, 0).value is None


class TestSentimentScore:
    def test_value_is_100_times_the_mean_and_negative_share_a_percentage(self) -> None:
        scores = [-0.8, -0.1, 0.0, 0.5, 0.9, -0.4]
        negative = 3
        score = sentiment_score(len(scores), sum(scores), negative)
        assert score.value == pytest.approx(100 * statistics.fmean(scores))
        assert score.negative_share == pytest.approx(50.0)

    def test_no_scores_gives_nulls(self) -> None:
        score = sentiment_score(0, 0.0, 0)
        assert (score.value, score.negative_share) == (None, None)


def parts(n: int = 0, **values: float) -> dict[str, float]:
    return {"n": n, **{k: 0 for k in PART_KEYS}, **values}


class TestScoreFields:
    def test_enps_is_computed_from_the_employee_parts_only(self) -> None:
        fields = score_fields(
            parts(5, nps_n=3, nps_promoters=3, enps_n=2, enps_detractors=2), min_n=1
        )
        assert fields["nps"].value == pytest.approx(100.0)
        assert fields["enps"].value == pytest.approx(-100.0)

    @pytest.mark.parametrize(("n", "low"), [(0, True), (29, True), (30, False), (31, False)])
    def test_low_confidence_below_min_n(self, n: int, low: bool) -> None:
        assert score_fields(parts(n), min_n=30)["low_confidence"] is low


class TestScoresPage:
    def test_unknown_dimension_values_render_as_null_and_only_grouped_dims_appear(self) -> None:
        row = {**parts(2), "touchpoint": "checkout", "channel": "", "segment": "vip"}
        page = scores_page([row], ("touchpoint", "channel"), min_n=30)
        assert page.items[0].group == {"touchpoint": "checkout", "channel": None}
        assert page.items[0].bucket_start is None
        assert page.min_n == 30


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


class TestParseGroupBy:
    def test_known_dimensions_keep_their_order_without_duplicates(self) -> None:
        assert parse_group_by("channel, touchpoint,channel,") == ("channel", "touchpoint")

    def test_nothing_means_no_grouping(self) -> None:
        assert parse_group_by(None) == ()

    def test_unknown_dimension_is_named_in_the_error(self) -> None:
        with pytest.raises(ValueError, match="'feedback_id'"):
            parse_group_by("touchpoint,feedback_id")


class TestCursor:
    def test_round_trip_keeps_the_exact_sort_key(self) -> None:
        cursor = Cursor(datetime(2024, 5, 1, 12, 30, 1, 123456, tzinfo=UTC), uuid4())
        assert decode_cursor(encode_cursor(cursor)) == cursor

    @pytest.mark.parametrize(
        "token", ["", "!!!", "bm90IGpzb24", "WzFd", "WyJ4IiwgInkiXQ", "WyIyMDI0LTAxLTAxIiwiMSJd"]
    )
    def test_malformed_tokens_are_rejected(self, token: str) -> None:
        with pytest.raises(ValueError, match="cursor"):
            decode_cursor(token)


class TestFeedbackPage:
    def row(self, moment: datetime) -> dict[str, object]:
        return {
            "feedback_id": UUID(int=moment.minute), "source_kind": "survey", "source": "api",
            "source_id": "1", "occurred_at": moment, "touchpoint": "checkout",
            "journey_stage": "conversion", "channel": "", "segment": "", "language": "en",
            "redacted_text": "hi [EMAIL]", "sentiment_label": None, "sentiment_score": None,
            "sentiment_confidence": None, "topics": [{"label": "delivery", "score": 0.9}],
            "nps": 9, "csat": None, "ces": None, "stars": None, "model_version": "m1",
        }  # fmt: skip

    def test_a_full_page_plus_one_row_yields_a_cursor_at_the_last_served_row(self) -> None:
        start = datetime(2024, 1, 1, tzinfo=UTC)
        rows = [self.row(start - timedelta(minutes=i)) for i in range(3)]
        page = feedback_page(rows, limit=2)
        assert len(page.items) == 2
        assert page.next_cursor is not None
        assert decode_cursor(page.next_cursor).occurred_at == rows[1]["occurred_at"]
        assert page.items[0].channel is None and page.items[0].sentiment is None

    def test_a_short_page_is_the_last(self) -> None:
        page = feedback_page([self.row(datetime(2024, 1, 1, tzinfo=UTC))], limit=2)
        assert page.next_cursor is None
        assert page.items[0].topics[0].label == "delivery"
