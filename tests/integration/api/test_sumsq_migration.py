"""Migration 0003 backfills the rollups' sums of squares from the live facts, so intervals over
data written before it are right (the api's t-intervals and Welch tests need them)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from scipy import stats
from sqlalchemy import insert, inspect, select
from sqlalchemy.ext.asyncio import create_async_engine

from services.metrics.migrate import alembic_config, upgrade
from shared.db import async_url
from shared.embedded import EmbeddedPostgres
from shared.tables import ROLLUP_DIMENSIONS, feedback_facts, score_rollups
from tests.integration.api.conftest import create_database, open_client

T0 = datetime(2025, 2, 3, tzinfo=UTC)
KEY = ("bucket_start", *ROLLUP_DIMENSIONS)
SQUARED = {"ces_sumsq": "ces", "stars_sumsq": "stars", "sentiment_sumsq": "sentiment_score"}


def generate_facts(count: int = 300, seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    facts = []
    for i in range(count):
        occurred = T0 + timedelta(minutes=rng.randrange(6 * 60))
        score = round(rng.uniform(-1, 1), 3) if rng.random() < 0.8 else None
        facts.append({
            "feedback_id": uuid.UUID(int=rng.getrandbits(128)), "event_id": uuid.uuid4(),
            "revision": "1", "revision_rank": 1, "received_at": occurred,
            "deleted": rng.random() < 0.1, "source_kind": "survey", "source": "api",
            "source_id": f"s-{i}", "occurred_at": occurred,
            "bucket_start": occurred.replace(minute=0, second=0, microsecond=0),
            "touchpoint": rng.choice(["checkout", "delivery"]), "journey_stage": "conversion",
            "touchpoint_rule": "explicit", "channel": rng.choice(["", "web"]),
            "ces": rng.choice([None, 1, 4, 6, 7]), "stars": rng.choice([None, 2, 5]),
            "sentiment_label": None if score is None else "neutral", "sentiment_score": score,
            "unscored": score is not None and rng.random() < 0.2, "model_version": "m",
        })  # fmt: skip
    return facts


FACTS = generate_facts()
LIVE = [f for f in FACTS if not f["deleted"]]


def key_of(fact: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(fact.get(k) or "" for k in KEY)


def old_rollups() -> list[dict[str, Any]]:
    """The rollups a writer from before 0003 kept: counts and sums, no squares."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for f in LIVE:
        row = rows.setdefault(key_of(f), {**dict(zip(KEY, key_of(f), strict=True)), "n": 0,
                                         "ces_n": 0, "ces_sum": 0, "stars_n": 0,
                                         "stars_sum": 0, "sentiment_n": 0,
                                         "sentiment_sum": 0.0})  # fmt: skip
        row["n"] += 1
        for name in ("ces", "stars"):
            if f[name] is not None:
                row[f"{name}_n"] += 1
                row[f"{name}_sum"] += f[name]
        if f["sentiment_score"] is not None and not f["unscored"]:
            row["sentiment_n"] += 1
            row["sentiment_sum"] += f["sentiment_score"]
    return list(rows.values())


def expected_squares() -> dict[tuple[Any, ...], dict[str, float]]:
    out: dict[tuple[Any, ...], dict[str, float]] = defaultdict(lambda: dict.fromkeys(SQUARED, 0))
    for f in LIVE:
        squares = out[key_of(f)]
        for column, source in SQUARED.items():
            if f[source] is not None and not (source == "sentiment_score" and f["unscored"]):
                squares[column] += f[source] ** 2
    return out


async def migrated_to(postgres: EmbeddedPostgres, revision: str) -> str:
    """A database holding FACTS and their rollups as of 0002, then upgraded to `revision`."""
    url = await create_database(postgres, tables=False)
    await asyncio.to_thread(upgrade, url, "0002")
    engine = create_async_engine(async_url(url))
    async with engine.begin() as conn:
        await conn.execute(insert(feedback_facts), FACTS)
        await conn.execute(insert(score_rollups), old_rollups())
    await engine.dispose()
    await asyncio.to_thread(upgrade, url, revision)
    return url


@pytest.fixture(scope="module")
async def migrated(postgres: EmbeddedPostgres) -> str:
    return await migrated_to(postgres, "0003")


class TestSumsOfSquaresMigration:
    async def test_backfill_equals_the_squares_of_the_live_scored_facts(
        self, migrated: str
    ) -> None:
        engine = create_async_engine(async_url(migrated))
        async with engine.connect() as conn:
            rows = (await conn.execute(select(score_rollups))).mappings().all()
        await engine.dispose()
        want = expected_squares()
        assert len(rows) == len(want) > 10
        for row in rows:
            squares = want[tuple(row[k] for k in KEY)]
            assert (row["ces_sumsq"], row["stars_sumsq"]) == (
                squares["ces_sumsq"], squares["stars_sumsq"],
            )  # fmt: skip
            assert row["sentiment_sumsq"] == pytest.approx(squares["sentiment_sumsq"])

    async def test_the_api_serves_t_intervals_over_backfilled_rows(
        self, postgres: EmbeddedPostgres
    ) -> None:
        # The api reads score_slices (0006), which 0006 fills from the backfilled rollups.
        async for client in open_client(await migrated_to(postgres, "0006")):
            response = await client.get(
                "/v1/scores",
                params={"granularity": "total", "group_by": "touchpoint",
                        "from": T0.isoformat(), "to": (T0 + timedelta(days=1)).isoformat()},
            )  # fmt: skip
            assert response.status_code == 200, response.text
            for item in response.json()["items"]:
                place = item["group"]["touchpoint"]
                ces = [f["ces"] for f in LIVE if f["touchpoint"] == place and f["ces"] is not None]
                ci = stats.ttest_1samp(ces, 0).confidence_interval(0.95)
                assert item["ces"]["n"] == len(ces)
                assert item["ces"]["moe"] == pytest.approx((ci.high - ci.low) / 2)

    async def test_downgrade_drops_the_columns_and_upgrade_restores_them(
        self, postgres: EmbeddedPostgres
    ) -> None:
        url = await create_database(postgres, tables=False)
        await asyncio.to_thread(upgrade, url, "0003")
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0002")
        assert not set(SQUARED) & await rollup_columns(url)
        await asyncio.to_thread(upgrade, url, "0003")
        assert set(SQUARED) <= await rollup_columns(url)


async def rollup_columns(url: str) -> set[str]:
    engine = create_async_engine(async_url(url))
    async with engine.connect() as conn:
        names = await conn.run_sync(
            lambda sync: {c["name"] for c in inspect(sync).get_columns("score_rollups")}
        )
    await engine.dispose()
    return names
