"""The alert tasks of one metrics replica: the evaluator loop and the notifier loop.

Started and stopped by the metrics app's lifespan. Stopping lets a round in flight finish (its
transaction commits or rolls back as a whole), then closes the HTTP client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics.alerts.evaluator import Evaluator, utc_now
from services.metrics.alerts.notifier import Notifier
from services.metrics.settings import MetricsSettings
from services.metrics.telemetry import AlertMetrics
from shared.journey import load_journey

log = structlog.get_logger(__name__)


class AlertRunner:
    def __init__(
        self,
        settings: MetricsSettings,
        sessions: async_sessionmaker[AsyncSession],
        metrics: AlertMetrics,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        alerts = settings.alerts
        journey = load_journey(settings.journey_file)
        unknown = sorted(set(alerts.webhooks) - {tp.team for tp in journey.touchpoints})
        if unknown:
            log.warning("alerts.webhook_teams_unknown", teams=unknown)
        self._client = httpx.AsyncClient(follow_redirects=False)
        self.notifier = Notifier(alerts, sessions, metrics, self._client)
        self.evaluator = Evaluator(
            alerts, sessions, journey, metrics, clock=clock, on_change=self.notifier.kick
        )
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.evaluator.run(self._stop), name="alerts-evaluator"),
            asyncio.create_task(self.notifier.run(self._stop), name="alerts-notifier"),
        ]
        log.info("alerts.started")

    async def stop(self, timeout_s: float) -> None:
        self._stop.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._client.aclose()
        log.info("alerts.stopped")
