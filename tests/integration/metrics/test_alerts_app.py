"""The alert tasks inside the metrics app: started by the lifespan, evaluating on their own,
the gauge on /metrics, a signed webhook sent, and stopped with the app. Also the schema check
of migration 0007 against shared/alert_tables.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics.app import create_app
from services.metrics.settings import AlertSettings, MetricsSettings
from shared.alert_tables import alert_notifications, alerts
from tests.helpers import eventually
from tests.integration.metrics.test_alerts import alert_rows, notification_rows, seed_drop
from tests.integration.metrics.test_alerts_webhooks import SECRET, Receiver, verify


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


async def test_the_app_evaluates_exports_the_gauge_and_notifies(
    metrics_settings: MetricsSettings, engine: AsyncEngine, receiver: Receiver
) -> None:
    alert_settings = AlertSettings.model_validate(
        {
            "interval_s": 0.2,
            "notify_poll_s": 0.2,
            "webhooks": {"ecommerce": {"url": receiver.url, "secret": SECRET}},
        }
    )
    settings = metrics_settings.model_copy(update={"alerts": alert_settings})
    # The evaluator reads the real clock: seed relative to it.
    await seed_drop(engine, now=datetime.now(UTC))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://metrics") as client:

            async def scrape() -> str:
                return (await client.get("/metrics")).text

            text = await eventually(scrape, lambda t: "voc_alerts_open{" in t)
        rows = await eventually(
            lambda: notification_rows(engine), lambda r: bool(r) and r[0]["status"] != "pending"
        )
    assert 'voc_alerts_open{metric="nps",team="ecommerce",touchpoint="checkout"} 1.0' in text
    assert [a["status"] for a in await alert_rows(engine)] == ["open"]
    assert rows[0]["status"] == "delivered"
    [(headers, body)] = receiver.requests
    assert verify(headers, body, SECRET) and json.loads(body)["event"] == "opened"
    assert app.state.alerts is not None


async def test_alerts_can_be_switched_off(
    metrics_settings: MetricsSettings, engine: AsyncEngine
) -> None:
    settings = metrics_settings.model_copy(update={"alerts": AlertSettings(enabled=False)})
    await seed_drop(engine, now=datetime.now(UTC))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert app.state.alerts is None
    assert await alert_rows(engine) == []


async def test_migration_0007_matches_the_alert_tables(engine: AsyncEngine) -> None:
    ours = MetaData()
    for table in (alerts, alert_notifications):
        table.to_metadata(ours)

    names = {"alerts", "alert_notifications"}

    def diff(sync_conn: object) -> list[object]:
        # Only our two tables: the others are test_migrations.py's to check.
        opts = {
            "compare_type": True,
            "include_name": lambda name, kind, _: kind != "table" or name in names,
        }
        ctx = MigrationContext.configure(sync_conn, opts=opts)  # type: ignore[arg-type]
        return list(compare_metadata(ctx, ours))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []
