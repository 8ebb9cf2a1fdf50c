"""Topic drivers from summed parts: with vs without (all − with), impact, edges and order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from scipy import stats

from services.api.drivers import drivers_page
from services.api.models import DriverMetric, DriversQuery, Window
from services.api.planner import choose
from services.api.scores import PART_KEYS

T0 = datetime(2024, 5, 6, tzinfo=UTC)


def parts(topic: str | None = None, n: int = 0, **values: float) -> dict[str, Any]:
    row: dict[str, Any] = {"n": n, **dict.fromkeys(PART_KEYS, 0), **values}
    if topic is not None:
        row["topic"] = topic
    return row


def nps(topic: str | None, promoters: int, passives: int, detractors: int) -> dict[str, Any]:
    n = promoters + passives + detractors
    return parts(
        topic, n, nps_n=n, nps_promoters=promoters, nps_passives=passives,
        nps_detractors=detractors,
    )  # fmt: skip


def query(metric: DriverMetric = "nps", level: float = 0.95) -> DriversQuery:
    return DriversQuery(
        metric, Window(T0, T0 + timedelta(days=7)), level, {}, choose({"topic"}), choose(())
    )


class TestDrivers:
    def test_without_is_all_minus_with_and_impact_is_the_share_weighted_gap(self) -> None:
        overall = nps(None, 50, 30, 20)
        topic = nps("delivery", 5, 5, 10)
        page = drivers_page([topic], overall, query(), min_n=30)
        [item] = page.items
        assert page.overall.value == pytest.approx(30.0) and page.n == 100
        assert item.with_topic.value == pytest.approx(100 * (5 - 10) / 20)
        assert item.without_topic.value == pytest.approx(100 * (45 - 10) / 80)
        assert (item.with_topic.n, item.without_topic.n) == (20, 80)
        assert item.share == item.metric_share == pytest.approx(0.2)
        gap = item.without_topic.value - item.with_topic.value  # type: ignore[operator]
        assert item.impact == pytest.approx(0.2 * gap)
        # Scoring the topic's answers like the rest lifts the overall value by exactly impact.
        assert page.overall.value + item.impact == pytest.approx(item.without_topic.value)  # type: ignore[operator]

    def test_impact_interval_is_the_difference_interval_scaled_and_flipped(self) -> None:
        page = drivers_page([nps("billing", 10, 10, 30)], nps(None, 100, 60, 40), query(), 30)
        [item] = page.items
        assert item.ci_low is not None and item.ci_high is not None
        share = item.metric_share or 0.0
        assert item.impact_ci_low == pytest.approx(-share * item.ci_high)
        assert item.impact_ci_high == pytest.approx(-share * item.ci_low)
        assert item.impact_ci_low <= item.impact <= item.impact_ci_high  # type: ignore[operator]
        assert item.significant is (item.p_value is not None and item.p_value < 0.05)

    def test_a_topic_without_answers_to_the_metric_has_null_values_not_invented_ones(
        self,
    ) -> None:
        topic = parts("pricing", n=7)  # seven items, none answered NPS
        page = drivers_page([topic], nps(None, 3, 3, 3), query(), 30)
        [item] = page.items
        assert (item.n, item.with_topic.n, item.with_topic.value) == (7, 0, None)
        assert (item.difference, item.impact, item.p_value, item.significant) == (
            None, None, None, False,
        )  # fmt: skip
        assert item.metric_share == 0.0 and item.without_topic.value is not None

    def test_every_answer_carrying_the_topic_leaves_nothing_to_compare_with(self) -> None:
        everything = nps(None, 2, 1, 1)
        [item] = drivers_page([nps("other", 2, 1, 1)], everything, query(), 30).items
        assert item.without_topic.n == 0 and item.without_topic.value is None
        assert (item.difference, item.impact) == (None, None)

    def test_one_answer_gives_a_value_and_difference_but_no_interval_or_test(self) -> None:
        [item] = drivers_page([nps("returns", 0, 0, 1)], nps(None, 6, 2, 2), query(), 30).items
        assert item.with_topic.value == -100.0 and item.with_topic.n == 1
        assert item.difference is not None and item.ci_low is None and item.p_value is None
        assert item.impact is not None and item.impact_ci_low is None

    def test_no_feedback_at_all_gives_an_empty_page_with_null_overall(self) -> None:
        page = drivers_page([], parts(), query("stars"), 30)
        assert (page.items, page.n, page.overall.value, page.overall.n) == ([], 0, None, 0)

    def test_facts_without_topics_are_not_a_topic_and_items_sort_by_impact_then_topic(
        self,
    ) -> None:
        overall = nps(None, 40, 30, 30)
        rows = [
            nps("", 10, 10, 10),
            nps("a_lifts", 10, 0, 0),
            nps("b_drags", 0, 0, 10),
            nps("c_drags", 0, 0, 10),
            parts("d_unanswered", n=3),
        ]
        page = drivers_page(rows, overall, query(), 30)
        assert [i.topic for i in page.items] == ["b_drags", "c_drags", "a_lifts", "d_unanswered"]
        assert page.items[0].impact == page.items[1].impact > 0 > page.items[2].impact  # type: ignore[operator]

    def test_csat_sides_carry_wilson_intervals_at_the_requested_level(self) -> None:
        overall = parts(None, 60, csat_n=60, csat_sum=220, csat_satisfied=45)
        topic = parts("delivery", 20, csat_n=20, csat_sum=60, csat_satisfied=10)
        page = drivers_page([topic], overall, query("csat", level=0.9), 30)
        [item] = page.items
        want = stats.binomtest(10, 20).proportion_ci(0.9, method="wilson")
        assert item.with_topic.value == pytest.approx(50.0)
        assert (item.with_topic.ci_low, item.with_topic.ci_high) == pytest.approx(
            (100 * want.low, 100 * want.high)
        )
        assert item.without_topic.value == pytest.approx(100 * 35 / 40)
        assert page.test == "two_proportion_z" and page.level == 0.9
        assert item.low_confidence is True  # 20 < 30

    def test_page_echoes_the_window_and_serialises_from_by_its_name(self) -> None:
        page = drivers_page([], parts(), query(), 30)
        dumped = page.model_dump(by_alias=True)
        assert dumped["from"] == T0 and dumped["to"] == T0 + timedelta(days=7)
