from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.metrics.contributions import contribution, parts, rollup_key
from services.metrics.models import bucket_start, fact_from_event
from tests.unit.metrics.factories import enriched


def _parts(**kw: object) -> dict[str, float]:
    return parts(fact_from_event(enriched(**kw)))  # type: ignore[arg-type]


class TestParts:
    def test_a_fact_without_scores_counts_only_in_n(self) -> None:
        assert _parts(text=None) == {"n": 1}

    @pytest.mark.parametrize(
        ("nps", "bucket"),
        [
            (10, "promoters"),
            (9, "promoters"),
            (8, "passives"),
            (7, "passives"),
            (6, "detractors"),
            (0, "detractors"),
        ],
    )
    def test_nps_answer_counts_in_its_bucket(self, nps: int, bucket: str) -> None:
        assert _parts(nps=nps) == {"n": 1, "nps_n": 1, f"nps_{bucket}": 1}

    def test_survey_csat_of_four_is_satisfied(self) -> None:
        assert _parts(csat=4) == {"n": 1, "csat_n": 1, "csat_sum": 4, "csat_satisfied": 1}

    def test_survey_csat_of_three_is_not_satisfied(self) -> None:
        assert _parts(csat=3) == {"n": 1, "csat_n": 1, "csat_sum": 3}

    def test_ticket_csat_counts_as_csat(self) -> None:
        assert _parts(kind="ticket", csat=5) == {
            "n": 1,
            "csat_n": 1,
            "csat_sum": 5,
            "csat_satisfied": 1,
        }

    @pytest.mark.parametrize(("ces", "easy"), [(5, 1), (7, 1), (4, 0), (1, 0)])
    def test_ces_of_five_or_more_is_easy(self, ces: int, easy: int) -> None:
        got = _parts(ces=ces)
        assert (got["ces_n"], got["ces_sum"], got.get("ces_easy", 0)) == (1, ces, easy)

    @pytest.mark.parametrize("ces", [1, 4, 7])
    def test_ces_adds_its_square_for_the_variance(self, ces: int) -> None:
        assert _parts(ces=ces)["ces_sumsq"] == ces * ces

    def test_review_stars_count_as_stars(self) -> None:
        assert _parts(kind="review", stars=2) == {
            "n": 1,
            "stars_n": 1,
            "stars_sum": 2,
            "stars_sumsq": 4,
        }

    def test_survey_stars_count_as_stars(self) -> None:
        assert _parts(stars=4) == {"n": 1, "stars_n": 1, "stars_sum": 4, "stars_sumsq": 16}

    def test_negative_sentiment_adds_score_and_negative(self) -> None:
        assert _parts(sentiment=("negative", -0.75)) == {
            "n": 1,
            "sentiment_n": 1,
            "sentiment_sum": -0.75,
            "sentiment_sumsq": 0.5625,
            "sentiment_negative": 1,
        }

    def test_positive_sentiment_adds_score_only(self) -> None:
        assert _parts(sentiment=("positive", 0.5)) == {
            "n": 1,
            "sentiment_n": 1,
            "sentiment_sum": 0.5,
            "sentiment_sumsq": 0.25,
        }

    def test_unscored_sentiment_is_left_out(self) -> None:
        assert _parts(sentiment=("neutral", 0.1), unscored=True) == {"n": 1}

    def test_social_item_counts_only_in_n_and_sentiment(self) -> None:
        assert _parts(kind="social", sentiment=("neutral", 0.0)) == {"n": 1, "sentiment_n": 1}


class TestContribution:
    def test_deleted_fact_contributes_nothing(self) -> None:
        assert contribution(fact_from_event(enriched(nps=10, deleted=True))) is None

    def test_missing_fact_contributes_nothing(self) -> None:
        assert contribution(None) is None

    def test_live_fact_contributes_to_its_key(self) -> None:
        fact = fact_from_event(enriched(nps=10))
        got = contribution(fact)
        assert got is not None
        assert got.key == rollup_key(fact)
        assert got.parts["nps_promoters"] == 1


class TestRollupKey:
    def test_key_is_hour_bucket_and_dimensions_with_blank_for_missing(self) -> None:
        fact = fact_from_event(enriched(touchpoint="delivery", channel="email", segment=None))
        assert rollup_key(fact) == (
            datetime(2026, 11, 2, 14, tzinfo=UTC),
            "delivery",
            "retention",
            "survey",
            "email",
            "",
            "en",
            "transactional",
            "customer",
        )

    def test_non_survey_items_have_blank_survey_dimensions(self) -> None:
        key = rollup_key(fact_from_event(enriched(kind="review", stars=3, language=None)))
        assert key[3:] == ("review", "", "", "", "", "")

    def test_employee_relationship_survey_keeps_type_and_audience(self) -> None:
        fact = fact_from_event(enriched(nps=3, survey_type="relationship", audience="employee"))
        assert rollup_key(fact)[-2:] == ("relationship", "employee")


class TestBucketStart:
    def test_truncates_to_the_utc_hour(self) -> None:
        local = datetime(2026, 3, 1, 1, 59, 59, tzinfo=timezone(timedelta(hours=2)))
        assert bucket_start(local) == datetime(2026, 2, 28, 23, tzinfo=UTC)

    def test_naive_timestamp_is_taken_as_utc(self) -> None:
        assert bucket_start(datetime(2026, 3, 1, 5, 30)) == datetime(2026, 3, 1, 5, tzinfo=UTC)
