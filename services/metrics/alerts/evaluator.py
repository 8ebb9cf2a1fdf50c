"""The scheduled evaluator: every `interval_s`, one replica judges every touchpoint and metric.

One evaluation is one transaction under a PostgreSQL advisory lock
(`pg_try_advisory_xact_lock`): a replica that does not get it skips this round, so replicas never
judge the same data twice at once. Opening or resolving an alert writes its notification to the
outbox in that same transaction (notifier.py sends it). Every replica, evaluator or not, then
refreshes its open-alerts gauge from the table, so whichever replica Prometheus scrapes is right.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics.alerts import repository, rules
from services.metrics.alerts.notifier import build_payload
from services.metrics.alerts.rules import Action, Figures, Thresholds, Windows
from services.metrics.settings import AlertSettings
from services.metrics.telemetry import AlertMetrics
from shared.journey import Journey

log = structlog.get_logger(__name__)

# Touchpoints the catalog does not know (data from before a catalog change) have no owner.
UNOWNED = "unowned"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Evaluation:
    """What one run did; `skipped` when another replica held the lock."""

    skipped: bool = False
    opened: list[tuple[str, str]] = field(default_factory=list)
    resolved: list[tuple[str, str]] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)


class Evaluator:
    def __init__(
        self,
        settings: AlertSettings,
        sessions: async_sessionmaker[AsyncSession],
        journey: Journey,
        metrics: AlertMetrics,
        clock: Callable[[], datetime] = utc_now,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._journey = journey
        self._metrics = metrics
        self._clock = clock
        self._on_change = on_change
        self._thresholds = Thresholds(settings.level, settings.stay_level, settings.min_n)

    def team_of(self, touchpoint: str) -> str:
        tp = self._journey.get(touchpoint)
        return UNOWNED if tp is None else tp.team

    def _stage_of(self, touchpoint: str) -> str | None:
        tp = self._journey.get(touchpoint)
        return None if tp is None else tp.stage.value

    async def evaluate_once(self) -> Evaluation:
        """Judge every (touchpoint, metric) with data or an open alert, if the lock is free."""
        async with self._sessions() as session, session.begin():
            if not await repository.try_lock(session):
                self._metrics.evaluations.labels("skipped").inc()
                return Evaluation(skipped=True)
            now = self._clock()
            w = rules.windows(now, self._settings.window, self._settings.baseline)
            parts = await repository.touchpoint_parts(session, w)
            open_ = await repository.open_alerts(session)
            result = Evaluation()
            refreshed: list[dict[str, Any]] = []
            pairs = {(tp, m) for tp in parts for m in self._settings.metrics} | set(open_)
            for touchpoint, metric in sorted(pairs):
                tp_parts = parts.get(touchpoint)
                empty: Mapping[str, float] = {}
                figures = rules.assess(
                    metric,
                    tp_parts.window if tp_parts else empty,
                    tp_parts.baseline if tp_parts else empty,
                    self._settings.level,
                )
                alert = open_.get((touchpoint, metric))
                action = rules.decide(figures, alert is not None, self._thresholds)
                key = (touchpoint, metric)
                if action is Action.OPEN:
                    await self._open(session, touchpoint, metric, figures, w, now)
                    result.opened.append(key)
                elif action is Action.KEEP and alert is not None:
                    refreshed.append({"alert_id": alert["id"], **_figures(figures, w, now)})
                    result.kept.append(key)
                elif action is Action.RESOLVE and alert is not None:
                    await self._resolve(session, alert["id"], figures, w, now)
                    result.resolved.append(key)
            await repository.refresh_alerts(session, refreshed)
        self._count(result)
        return result

    async def _open(
        self,
        session: AsyncSession,
        touchpoint: str,
        metric: str,
        figures: Figures,
        w: Windows,
        now: datetime,
    ) -> None:
        team = self.team_of(touchpoint)
        values = {
            "touchpoint": touchpoint,
            "metric": metric,
            "team": team,
            "status": "open",
            "test": rules.METRICS[metric].test,
            "level": self._settings.level,
            "min_n": self._settings.min_n,
            "opened_figures": figures.as_dict(),
            "opened_at": now,
            **_figures(figures, w, now),
        }
        alert_id, new = await repository.open_alert(session, values)
        if new:
            await self._notify(session, "opened", {**values, "id": alert_id}, now)

    async def _resolve(
        self, session: AsyncSession, alert_id: Any, figures: Figures, w: Windows, now: datetime
    ) -> None:
        values = {**_figures(figures, w, now), "resolved_at": now}
        row = await repository.resolve_alert(session, alert_id, values)
        if row is not None:
            await self._notify(session, "resolved", row, now)

    async def _notify(
        self, session: AsyncSession, event: str, alert: Mapping[str, Any], now: datetime
    ) -> None:
        payload = build_payload(
            event, alert, self._stage_of(alert["touchpoint"]), str(self._settings.api_base_url)
        )
        await repository.add_notification(
            session,
            alert_id=alert["id"],
            event=event,
            team=alert["team"],
            payload=payload,
            deliver=alert["team"] in self._settings.webhooks,
            now=now,
        )
        log.info(
            f"alerts.{event}",
            touchpoint=alert["touchpoint"],
            metric=alert["metric"],
            team=alert["team"],
            difference=alert["difference"],
            p_value=alert["p_value"],
        )

    def _count(self, result: Evaluation) -> None:
        self._metrics.evaluations.labels("evaluated").inc()
        for _, metric in result.opened:
            self._metrics.opened.labels(metric).inc()
        for _, metric in result.resolved:
            self._metrics.resolved.labels(metric).inc()
        if (result.opened or result.resolved) and self._on_change is not None:
            self._on_change()

    async def refresh_gauge(self) -> None:
        async with self._sessions() as session:
            labels = await repository.open_alert_labels(session)
        self._metrics.show_open(labels)

    async def run(self, stop: asyncio.Event) -> None:
        """Evaluate and refresh the gauge every interval until `stop` is set."""
        while not stop.is_set():
            try:
                await self.evaluate_once()
            except Exception:
                # The next round retries; the database may be restarting.
                self._metrics.evaluations.labels("failed").inc()
                log.exception("alerts.evaluation_failed")
            try:
                await self.refresh_gauge()
            except Exception:
                log.exception("alerts.gauge_refresh_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._settings.interval_s)


def _figures(figures: Figures, w: Windows, now: datetime) -> dict[str, Any]:
    return {
        **figures.as_dict(),
        "window_start": w.window_start,
        "window_end": w.window_end,
        "baseline_start": w.baseline_start,
        "baseline_end": w.window_start,
        "last_evaluated_at": now,
    }
