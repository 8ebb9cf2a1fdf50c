"""Score-drop alerts on the real PostgreSQL: the lifecycle (open once, keep, resolve), the minimum
n, employee answers left out, one evaluator at a time, and the open-alerts gauge."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from scipy import stats
from sqlalchemy import insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from services.metrics.alerts import repository
from services.metrics.alerts.evaluator import Evaluator
from services.metrics.alerts.repository import EVALUATOR_LOCK_KEY
from services.metrics.settings import AlertSettings
from services.metrics.telemetry import AlertMetrics
from shared.alert_tables import alert_notifications, alerts
from shared.db import create_sessionmaker
from shared.journey import load_journey
from shared.tables import ROLLUP_DIMENSIONS, SLICE_DIMENSIONS, score_rollups, score_slices

NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
# With the default 24 h window the window is [NOW's hour + 1 h - 24 h, NOW's hour + 1 h).
WINDOW_BUCKET = datetime(2026, 11, 20, 9, tzinfo=UTC)
BASELINE_BUCKET = datetime(2026, 11, 5, 9, tzinfo=UTC)


async def seed_nps(
    engine: AsyncEngine,
    bucket: datetime,
    promoters: int,
    passives: int,
    detractors: int,
    *,
    touchpoint: str = "checkout",
    audience: str = "",
    channel: str = "web",
) -> None:
    """One rollup row of NPS answers (other dimensions '' unless given), and its parts added to
    the 'touchpoint' slice row (touchpoint, stage, audience) the metrics writer would add to."""
    row: dict[str, Any] = {d: "" for d in ROLLUP_DIMENSIONS}
    n = promoters + passives + detractors
    parts = {
        "n": n,
        "nps_n": n,
        "nps_promoters": promoters,
        "nps_passives": passives,
        "nps_detractors": detractors,
    }
    place = {"touchpoint": touchpoint, "journey_stage": "conversion", "audience": audience}
    row |= {"bucket_start": bucket, **place, "channel": channel, **parts}
    slice_row = {d: "" for d in SLICE_DIMENSIONS} | place | parts
    sliced = pg_insert(score_slices).values(slice="touchpoint", bucket_start=bucket, **slice_row)
    added = {m: score_slices.c[m] + sliced.excluded[m] for m in parts}
    keys = [c.name for c in score_slices.primary_key.columns]
    async with engine.begin() as conn:
        await conn.execute(insert(score_rollups).values(**row))
        await conn.execute(sliced.on_conflict_do_update(index_elements=keys, set_=added))


def nps_drop(now: tuple[int, int, int], before: tuple[int, int, int]) -> tuple[float, float]:
    """(difference in NPS points, one-sided p) from the raw answers, coded +1 / 0 / -1, with
    the variance pooled over both windows (the two-sample z of 'no change')."""
    a = [1] * now[0] + [0] * now[1] + [-1] * now[2]
    b = [1] * before[0] + [0] * before[1] + [-1] * before[2]
    pooled = stats.describe(a + b).variance * (len(a) + len(b) - 1) / (len(a) + len(b))
    diff = sum(a) / len(a) - sum(b) / len(b)
    z = diff / math.sqrt(pooled * (1 / len(a) + 1 / len(b)))
    return 100 * diff, float(stats.norm.cdf(z))


async def alert_rows(engine: AsyncEngine, **where: Any) -> list[dict[str, Any]]:
    stmt = select(alerts).order_by(alerts.c.opened_at)
    for column, value in where.items():
        stmt = stmt.where(alerts.c[column] == value)
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def notification_rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    stmt = select(alert_notifications).order_by(alert_notifications.c.created_at)
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(stmt)).mappings()]


def gauge(registry: Any) -> dict[tuple[str, str, str], float]:
    """voc_alerts_open samples by (touchpoint, metric, team)."""
    out = {}
    for metric in registry.collect():
        for s in metric.samples:
            if s.name == "voc_alerts_open":
                out[(s.labels["touchpoint"], s.labels["metric"], s.labels["team"])] = s.value
    return out


def shift(moment: datetime, hours: int) -> datetime:
    return moment + timedelta(hours=hours)


def make_settings(**overrides: Any) -> AlertSettings:
    return AlertSettings(interval_s=0.05, notify_poll_s=0.05, **overrides)


def make_evaluator(
    engine: AsyncEngine, settings: AlertSettings, registry: CollectorRegistry | None = None
) -> Evaluator:
    metrics = AlertMetrics(registry or CollectorRegistry())
    return Evaluator(settings, create_sessionmaker(engine), load_journey(), metrics, lambda: NOW)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def evaluator(engine: AsyncEngine, registry: CollectorRegistry) -> Evaluator:
    return make_evaluator(engine, make_settings(), registry)


DROP = ((30, 30, 40), (100, 60, 40))  # window NPS -10 (n 100) vs baseline NPS 30 (n 200)


async def seed_drop(engine: AsyncEngine, now: datetime = NOW) -> None:
    """DROP at checkout: the window part 3 hours before `now`, the baseline 15 days before."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    await seed_nps(engine, shift(hour, -3), *DROP[0])
    await seed_nps(engine, shift(hour, -15 * 24), *DROP[1])


class TestLifecycle:
    async def test_a_significant_drop_opens_one_alert_with_the_figures(
        self, engine: AsyncEngine, evaluator: Evaluator
    ) -> None:
        await seed_drop(engine)
        result = await evaluator.evaluate_once()
        assert result.opened == [("checkout", "nps")]
        [alert] = await alert_rows(engine)
        difference, p = nps_drop(*DROP)
        assert (alert["touchpoint"], alert["metric"], alert["team"], alert["status"]) == (
            "checkout", "nps", "ecommerce", "open",
        )  # fmt: skip
        assert (alert["window_n"], alert["baseline_n"]) == (100, 200)
        assert alert["window_value"] == pytest.approx(-10.0)
        assert alert["baseline_value"] == pytest.approx(30.0)
        assert alert["difference"] == pytest.approx(difference)
        assert alert["p_value"] == pytest.approx(p, rel=1e-9)
        assert alert["ci_low"] < alert["difference"] < alert["ci_high"] < 0
        assert alert["window_end"] == shift(NOW.replace(minute=0), 1)
        assert alert["window_start"] == alert["baseline_end"] == shift(alert["window_end"], -24)
        assert alert["baseline_start"] == shift(alert["window_start"], -28 * 24)
        assert alert["opened_figures"]["difference"] == pytest.approx(difference)
        # The z behind p (GET /v1/alerts serves it at open as at_open.statistic).
        assert alert["statistic"] == pytest.approx(stats.norm.ppf(p), rel=1e-9)
        assert alert["opened_figures"]["statistic"] == alert["statistic"]
        assert alert["opened_at"] == alert["last_evaluated_at"] == NOW

    async def test_a_second_run_keeps_the_alert_without_a_duplicate(
        self, engine: AsyncEngine, evaluator: Evaluator
    ) -> None:
        await seed_drop(engine)
        await evaluator.evaluate_once()
        again = await evaluator.evaluate_once()
        assert (again.opened, again.kept) == ([], [("checkout", "nps")])
        assert len(await alert_rows(engine)) == 1
        assert [n["event"] for n in await notification_rows(engine)] == ["opened"]

    async def test_recovery_resolves_with_the_figures_at_resolution(
        self, engine: AsyncEngine, evaluator: Evaluator
    ) -> None:
        await seed_drop(engine)
        await evaluator.evaluate_once()
        # 70 more promoters in the window: NPS (100 - 40) / 170 = 35.3, above the baseline's 30.
        await seed_nps(engine, shift(WINDOW_BUCKET, 1), 70, 0, 0)
        result = await evaluator.evaluate_once()
        assert result.resolved == [("checkout", "nps")]
        [alert] = await alert_rows(engine)
        assert alert["status"] == "resolved"
        assert alert["resolved_at"] == NOW
        assert alert["window_n"] == 170
        assert alert["window_value"] == pytest.approx(100 * 60 / 170)
        assert alert["difference"] == pytest.approx(100 * 60 / 170 - 30)
        assert alert["opened_figures"]["window_value"] == pytest.approx(-10.0)
        assert [n["event"] for n in await notification_rows(engine)] == ["opened", "resolved"]
        # A later drop is a new alert, not the old one reopened.
        await seed_nps(engine, shift(WINDOW_BUCKET, 2), 0, 0, 150)
        assert (await evaluator.evaluate_once()).opened == [("checkout", "nps")]
        assert [a["status"] for a in await alert_rows(engine)] == ["resolved", "open"]

    async def test_too_few_answers_never_open_even_for_a_huge_drop(
        self, engine: AsyncEngine, evaluator: Evaluator
    ) -> None:
        await seed_nps(engine, WINDOW_BUCKET, 0, 0, 29)  # n 29 < min_n 30, NPS -100
        await seed_nps(engine, BASELINE_BUCKET, 200, 0, 0)
        assert (await evaluator.evaluate_once()).opened == []
        assert await alert_rows(engine) == []

    async def test_employee_answers_are_not_counted(
        self, engine: AsyncEngine, evaluator: Evaluator
    ) -> None:
        await seed_nps(engine, WINDOW_BUCKET, 0, 0, 500, audience="employee")
        await seed_nps(engine, WINDOW_BUCKET, 50, 30, 20)
        await seed_nps(engine, BASELINE_BUCKET, 100, 60, 40)
        assert (await evaluator.evaluate_once()).opened == []

    async def test_answers_outside_both_windows_are_not_counted(
        self, engine: AsyncEngine, evaluator: Evaluator
    ) -> None:
        await seed_nps(engine, shift(WINDOW_BUCKET, 4), 0, 0, 300)  # after the window's end
        await seed_nps(engine, shift(BASELINE_BUCKET, -30 * 24), 0, 0, 300)  # before baseline
        await seed_drop(engine)
        await evaluator.evaluate_once()
        [alert] = await alert_rows(engine)
        assert (alert["window_n"], alert["baseline_n"]) == (100, 200)


class TestOneEvaluator:
    async def test_a_replica_without_the_lock_skips_the_round(
        self, engine: AsyncEngine, evaluator: Evaluator, registry: CollectorRegistry
    ) -> None:
        await seed_drop(engine)
        async with engine.connect() as other, other.begin():
            await other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": EVALUATOR_LOCK_KEY})
            assert (await evaluator.evaluate_once()).skipped
            assert await alert_rows(engine) == []
        skipped = {"outcome": "skipped"}
        assert registry.get_sample_value("voc_metrics_alert_evaluations_total", skipped) == 1
        assert (await evaluator.evaluate_once()).opened == [("checkout", "nps")]

    async def test_two_racing_evaluators_open_one_alert(self, engine: AsyncEngine) -> None:
        await seed_drop(engine)
        other_engine = create_async_engine(engine.url)
        try:
            a = make_evaluator(engine, make_settings())
            b = make_evaluator(other_engine, make_settings())
            results = await asyncio.gather(*(e.evaluate_once() for e in (a, b, a, b)))
        finally:
            await other_engine.dispose()
        assert sum(len(r.opened) for r in results) == 1
        assert len(await alert_rows(engine)) == 1
        assert [n["event"] for n in await notification_rows(engine)] == ["opened"]

    async def test_the_unique_index_refuses_a_second_open_alert(
        self, engine: AsyncEngine, evaluator: Evaluator
    ) -> None:
        await seed_drop(engine)
        await evaluator.evaluate_once()
        [alert] = await alert_rows(engine)
        values = {k: v for k, v in alert.items() if k != "id"}
        # Through the upsert (as an evaluator without the lock would): the open one is refreshed.
        async with AsyncSession(engine) as session, session.begin():
            alert_id, new = await repository.open_alert(session, values)
        assert (alert_id, new) == (alert["id"], False)
        # A plain insert of a second open row breaks the partial unique index.
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(insert(alerts).values(**values))
        assert len(await alert_rows(engine)) == 1


class TestGauge:
    async def test_open_alerts_show_as_one_and_vanish_when_resolved(
        self, engine: AsyncEngine, evaluator: Evaluator, registry: CollectorRegistry
    ) -> None:
        await seed_drop(engine)
        await evaluator.evaluate_once()
        await evaluator.refresh_gauge()
        assert gauge(registry) == {("checkout", "nps", "ecommerce"): 1.0}
        # Another replica (it never evaluated) shows the same from the table.
        replica_registry = CollectorRegistry()
        await make_evaluator(engine, make_settings(), replica_registry).refresh_gauge()
        assert gauge(replica_registry) == {("checkout", "nps", "ecommerce"): 1.0}
        await seed_nps(engine, shift(WINDOW_BUCKET, 1), 70, 0, 0)
        await evaluator.evaluate_once()
        await evaluator.refresh_gauge()
        assert gauge(registry) == {}

    async def test_counters_count_evaluations_opened_and_resolved(
        self, engine: AsyncEngine, evaluator: Evaluator, registry: CollectorRegistry
    ) -> None:
        await seed_drop(engine)
        await evaluator.evaluate_once()
        await seed_nps(engine, shift(WINDOW_BUCKET, 1), 70, 0, 0)
        await evaluator.evaluate_once()
        value = registry.get_sample_value
        assert value("voc_metrics_alert_evaluations_total", {"outcome": "evaluated"}) == 2
        assert value("voc_metrics_alerts_opened_total", {"metric": "nps"}) == 1
        assert value("voc_metrics_alerts_resolved_total", {"metric": "nps"}) == 1
