"""The metric blocks of one score item, against independent computations on the raw answers."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence

import pytest
from scipy import stats

from services.api.scores import (
    PART_KEYS,
    ces_score,
    csat_score,
    nps_score,
    score_fields,
    sentiment_score,
    stars_score,
)

MIN_N = 30


def nps_parts(answers: list[int]) -> tuple[int, int, int, int]:
    promoters = sum(a >= 9 for a in answers)
    detractors = sum(a <= 6 for a in answers)
    return len(answers), promoters, len(answers) - promoters - detractors, detractors


def expected_nps(answers: list[int]) -> tuple[float, float]:
    """NPS as the mean of answers coded +100/0/-100, MOE from their population variance."""
    coded = [100 if a >= 9 else -100 if a <= 6 else 0 for a in answers]
    return statistics.fmean(coded), 1.96 * math.sqrt(statistics.pvariance(coded) / len(coded))


def t_interval(values: Sequence[float], low: float, high: float) -> tuple[float, float, float]:
    """(moe, ci_low, ci_high) of the mean from scipy, clipped to the scale like the API."""
    ci = stats.ttest_1samp(values, 0).confidence_interval(0.95)
    mean = statistics.fmean(values)
    return (ci.high - ci.low) / 2, max(low, mean - (ci.high - ci.low) / 2), min(high, ci.high)


class TestNpsScore:
    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_random_answers_match_the_coded_mean_and_variance(self, seed: int) -> None:
        rng = random.Random(seed)
        answers = [rng.randint(0, 10) for _ in range(250)]
        value, moe = expected_nps(answers)
        score = nps_score(*nps_parts(answers), min_n=MIN_N)
        assert score.value == pytest.approx(value)
        assert score.moe == pytest.approx(moe)
        assert (score.ci_low, score.ci_high) == pytest.approx((value - moe, value + moe))
        assert (score.promoters, score.passives, score.detractors) == nps_parts(answers)[1:]
        assert score.low_confidence is False

    def test_no_answers_gives_null_value_moe_and_interval(self) -> None:
        score = nps_score(0, 0, 0, 0, min_n=MIN_N)
        assert (score.value, score.moe, score.ci_low, score.ci_high, score.n) == (
            None, None, None, None, 0,
        )  # fmt: skip
        assert score.low_confidence is True

    def test_one_detractor_is_minus_100_with_zero_moe(self) -> None:
        score = nps_score(*nps_parts([3]), min_n=MIN_N)
        assert (score.value, score.moe, score.n) == (-100.0, 0.0, 1)
        assert (score.ci_low, score.ci_high) == (-100.0, -100.0)

    def test_all_promoters_is_100_with_zero_moe(self) -> None:
        score = nps_score(*nps_parts([9, 10, 10, 9]), min_n=MIN_N)
        assert score.value == pytest.approx(100.0)
        assert score.moe == pytest.approx(0.0)

    def test_all_detractors_is_minus_100_with_zero_moe(self) -> None:
        score = nps_score(*nps_parts([0, 6, 2]), min_n=MIN_N)
        assert score.value == pytest.approx(-100.0)
        assert score.moe == pytest.approx(0.0)

    def test_half_promoters_half_detractors_has_the_widest_margin(self) -> None:
        answers = [10, 0] * 50
        value, moe = expected_nps(answers)
        score = nps_score(*nps_parts(answers), min_n=MIN_N)
        assert score.value == pytest.approx(value) == pytest.approx(0.0)
        assert score.moe == pytest.approx(moe)
        assert score.moe == pytest.approx(1.96 * 100 / math.sqrt(100))

    def test_interval_is_clipped_to_the_scale(self) -> None:
        score = nps_score(*nps_parts([10, 10, 10, 0]), min_n=MIN_N)
        assert score.value is not None and score.moe is not None
        assert score.value + score.moe > 100 and score.ci_high == 100.0

    def test_the_readme_example(self) -> None:
        score = nps_score(100, 50, 30, 20, min_n=MIN_N)
        assert (score.value, round(score.moe or 0, 1)) == (30.0, 15.3)


class TestCsatScore:
    def test_random_answers_match_share_mean_moe_and_wilson_interval(self) -> None:
        rng = random.Random(7)
        answers = [rng.randint(1, 5) for _ in range(137)]
        satisfied = [1 if a >= 4 else 0 for a in answers]
        score = csat_score(len(answers), sum(answers), sum(satisfied), min_n=MIN_N)
        assert score.value == pytest.approx(100 * statistics.fmean(satisfied))
        assert score.mean == pytest.approx(statistics.fmean(answers))
        sd = statistics.pstdev(satisfied)
        assert score.moe == pytest.approx(1.96 * 100 * sd / math.sqrt(len(answers)))
        wilson = stats.binomtest(sum(satisfied), len(answers)).proportion_ci(0.95, "wilson")
        assert (score.ci_low, score.ci_high) == pytest.approx((100 * wilson.low, 100 * wilson.high))

    def test_no_answers_gives_nulls(self) -> None:
        score = csat_score(0, 0, 0, min_n=MIN_N)
        assert (score.value, score.moe, score.mean, score.ci_low, score.n) == (
            None, None, None, None, 0,
        )  # fmt: skip

    def test_one_satisfied_answer_is_100_percent_with_a_wide_wilson_interval(self) -> None:
        score = csat_score(1, 5, 1, min_n=MIN_N)
        assert (score.value, score.moe, score.mean) == (100.0, 0.0, 5.0)
        wilson = stats.binomtest(1, 1).proportion_ci(0.95, "wilson")
        assert score.ci_low == pytest.approx(100 * wilson.low) and score.ci_high == 100.0
        assert score.ci_low is not None and score.ci_low < 25


class TestMeanScores:
    def test_ces_matches_mean_share_easy_and_scipy_t_interval(self) -> None:
        rng = random.Random(11)
        answers = [rng.randint(1, 7) for _ in range(90)]
        easy = sum(a >= 5 for a in answers)
        score = ces_score(90, sum(answers), sum(a * a for a in answers), easy, min_n=MIN_N)
        assert score.value == pytest.approx(statistics.fmean(answers))
        assert score.share_easy == pytest.approx(100 * easy / 90)
        assert (score.moe, score.ci_low, score.ci_high) == pytest.approx(t_interval(answers, 1, 7))

    def test_stars_interval_is_clipped_to_one_to_five(self) -> None:
        ratings = [5, 5, 4, 5]
        score = stars_score(4, sum(ratings), sum(r * r for r in ratings), min_n=MIN_N)
        assert score.value == pytest.approx(4.75)
        assert score.ci_high == 5.0
        assert score.ci_low == pytest.approx(t_interval(ratings, 1, 5)[1])

    def test_sentiment_is_in_index_points_with_negative_share(self) -> None:
        scores = [-0.8, -0.1, 0.0, 0.5, 0.9, -0.4]
        score = sentiment_score(6, sum(scores), sum(s * s for s in scores), 3, min_n=MIN_N)
        assert score.value == pytest.approx(100 * statistics.fmean(scores))
        assert score.negative_share == pytest.approx(50.0)
        moe, low, high = t_interval([100 * s for s in scores], -100, 100)
        assert (score.moe, score.ci_low, score.ci_high) == pytest.approx((moe, low, high))

    def test_one_answer_has_a_value_but_no_interval(self) -> None:
        score = ces_score(1, 6, 36, 1, min_n=MIN_N)
        assert (score.value, score.moe, score.ci_low, score.ci_high) == (6.0, None, None, None)

    def test_rows_without_sums_of_squares_show_no_interval_rather_than_a_wrong_one(self) -> None:
        score = stars_score(40, 160, 0, min_n=MIN_N)
        assert (score.value, score.moe, score.ci_low) == (4.0, None, None)

    @pytest.mark.parametrize("make", [
        lambda: ces_score(0, 0, 0, 0, min_n=MIN_N),
        lambda: stars_score(0, 0, 0, min_n=MIN_N),
        lambda: sentiment_score(0, 0.0, 0.0, 0, min_n=MIN_N),
    ])  # fmt: skip
    def test_no_answers_give_nulls(self, make: object) -> None:
        score = make()  # type: ignore[operator]
        assert (score.value, score.moe, score.ci_low, score.ci_high) == (None, None, None, None)


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

    def test_each_metric_is_flagged_on_its_own_n(self) -> None:
        fields = score_fields(
            parts(40, nps_n=35, nps_promoters=35, csat_n=12, csat_sum=48, csat_satisfied=12),
            min_n=30,
        )
        assert fields["low_confidence"] is False
        assert fields["nps"].low_confidence is False
        assert fields["csat"].low_confidence is True
        assert fields["ces"].low_confidence is True
