"""`voc remap` against a real PostgreSQL: facts written by the real writer under one catalog,
the rules changed, then remapped; rollups checked against a recomputation from the facts."""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from services.classifier.touchpoints import TouchpointResolver
from services.metrics.handlers import FeedbackWriter
from services.metrics.models import fact_from_event
from services.metrics.remap import remap
from services.metrics.telemetry import MetricsTelemetry
from shared.db import create_sessionmaker
from shared.events import EnrichedFeedbackEvent
from shared.journey import Journey, load_journey
from shared.tables import ROLLUP_DIMENSIONS, ROLLUP_MEASURES
from tests.integration.metrics.support import fact_rows, rollup_totals
from tests.unit.metrics.factories import T0, enriched

TOUCHPOINTS = """
touchpoints:
  - {name: website, stage: consideration, team: digital}
  - {name: mobile_app, stage: consideration, team: mobile}
  - {name: checkout, stage: conversion, team: ecommerce}
  - {name: delivery, stage: DELIVERY_STAGE, team: logistics}
  - {name: billing, stage: retention, team: finance}
  - {name: brand, stage: loyalty, team: cx}
"""
BEFORE = (
    "version: 1\n"
    + TOUCHPOINTS.replace("DELIVERY_STAGE", "retention")
    + """
rules:
  - {name: in_app, match: {channel: in_app}, touchpoint: mobile_app}
  - {name: billing_tags, match: {tags: [invoice]}, touchpoint: billing}
topic_touchpoints: {delivery: delivery, pricing: checkout}
default_touchpoint: brand
"""
)
# New rule, a removed one, a renamed one (same touchpoint), a topic remapped, a new default for
# tickets, and delivery moved to another stage (same touchpoint name, another rollup row).
AFTER = (
    "version: 1\n"
    + TOUCHPOINTS.replace("DELIVERY_STAGE", "conversion")
    + """
rules:
  - {name: checkout_form, match: {metadata: {form_id: checkout}}, touchpoint: checkout}
  - {name: invoices, match: {tags: [invoice]}, touchpoint: billing}
topic_touchpoints: {delivery: delivery, pricing: website}
default_touchpoint: {overall: brand, by_source_kind: {ticket: billing}}
"""
)


def _catalog(tmp_path: Path, name: str, text: str) -> Journey:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_journey(path)


@pytest.fixture
def before(tmp_path: Path) -> Journey:
    return _catalog(tmp_path, "before", BEFORE)


@pytest.fixture
def after(tmp_path: Path) -> Journey:
    return _catalog(tmp_path, "after", AFTER)


def classified(journey: Journey, event: EnrichedFeedbackEvent, hint: str | None) -> Any:
    """The event as the classifier would enrich it under `journey`."""
    fb = event.data.model_copy(update={"touchpoint": hint})
    got = TouchpointResolver(journey).resolve(fb, [t.label.value for t in fb.enrichment.topics])
    enrichment = fb.enrichment.model_copy(
        update={
            "touchpoint": got.touchpoint,
            "journey_stage": got.stage,
            "touchpoint_rule": got.rule,
        }
    )
    return EnrichedFeedbackEvent.wrap(
        fb.model_copy(update={"enrichment": enrichment}), producer="classifier"
    )


KINDS = ("survey", "ticket", "survey", "review")
METADATA: list[dict[str, Any]] = [
    {},
    {"form_id": "checkout"},
    {"tags": ["invoice"]},
    {"form_id": "Checkout"},
]


def source_of(i: int) -> str:
    """The item's source, fixed: the feedback_id follows from (source, source_id)."""
    return ("typeform", "zendesk", "surveymonkey", "trustpilot")[i % len(KINDS)]


def generated(journey: Journey, count: int, seed: int, revision: str = "1") -> list[Any]:
    """Items covering every resolution path; scores on every measure, sentiment exact in binary."""
    rng = random.Random(seed)
    events = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        event = enriched(
            f"item-{i}",
            revision=revision,
            kind=kind,
            source=source_of(i),
            occurred_at=T0 + timedelta(hours=rng.randrange(3)),
            nps=rng.randrange(11) if kind == "survey" else None,
            csat=rng.randint(1, 5) if kind != "review" else None,
            ces=rng.randint(1, 7) if kind == "survey" else None,
            stars=rng.randint(1, 5) if kind != "ticket" else None,
            sentiment=(rng.choice(["positive", "negative"]), rng.choice([-0.75, -0.25, 0.5, 1.0])),
            channel=rng.choice(["in_app", "web", None]),
            segment=rng.choice(["smb", None]),
            topics=tuple(rng.sample(["delivery", "pricing", "other"], rng.randrange(3))),
            metadata=rng.choice(METADATA),
        )
        events.append(classified(journey, event, rng.choice([None, None, "Website", "kiosk"])))
    return events


def recomputed(facts: dict[str, dict[str, Any]]) -> dict[Any, dict[str, float]]:
    """The rollups, summed afresh from the live facts (independent of the writer's code)."""
    out: dict[Any, Counter[str]] = defaultdict(Counter)
    for f in facts.values():
        if f["deleted"]:
            continue
        row = out[(f["bucket_start"], *(f[d] for d in ROLLUP_DIMENSIONS))]
        row["n"] += 1
        if (nps := f["nps"]) is not None:
            row["nps_n"] += 1
            row[
                "nps_promoters" if nps >= 9 else "nps_passives" if nps >= 7 else "nps_detractors"
            ] += 1
        for name, good in (("csat", 4), ("ces", 5), ("stars", None)):
            if (value := f[name]) is not None:
                row[f"{name}_n"] += 1
                row[f"{name}_sum"] += value
                if name != "csat":
                    row[f"{name}_sumsq"] += value * value
                if good is not None:
                    row[f"{name}_{'satisfied' if name == 'csat' else 'easy'}"] += value >= good
        if (score := f["sentiment_score"]) is not None and not f["unscored"]:
            row["sentiment_n"] += 1
            row["sentiment_sum"] += score
            row["sentiment_sumsq"] += score * score
            row["sentiment_negative"] += f["sentiment_label"] == "negative"
    return {k: {m: float(v.get(m, 0)) for m in ROLLUP_MEASURES} for k, v in out.items()}


async def stored_rollups(engine: AsyncEngine) -> dict[Any, dict[str, float]]:
    rows = await rollup_totals(engine, "bucket_start", *ROLLUP_DIMENSIONS)
    return {k: {m: float(v) for m, v in row.items()} for k, row in rows.items()}


@pytest.fixture
def writer(engine: AsyncEngine) -> FeedbackWriter:
    return FeedbackWriter(create_sessionmaker(engine), MetricsTelemetry(CollectorRegistry()))


@pytest.fixture
async def seeded(writer: FeedbackWriter, engine: AsyncEngine, before: Journey) -> list[Any]:
    """80 items under the old catalog, 20 of them revised and 8 deleted; the latest versions."""
    first = generated(before, 80, seed=1)
    revised = generated(before, 20, seed=2, revision="2")
    deleted = [
        enriched(f"item-{i}", revision="3", source=source_of(i), deleted=True)
        for i in range(70, 78)
    ]
    await writer.write([fact_from_event(e) for e in first])
    await writer.write([fact_from_event(e) for e in [*revised, *deleted]])
    assert await stored_rollups(engine) == recomputed(await fact_rows(engine))  # the baseline
    return [*revised, *first[20:70], *first[78:]]


def resolved(journey: Journey, events: list[Any]) -> dict[str, tuple[str, str, str]]:
    resolver = TouchpointResolver(journey)
    out = {}
    for e in events:
        got = resolver.resolve(e.data, [t.label.value for t in e.data.enrichment.topics])
        out[e.data.source_id] = (got.touchpoint, got.stage.value, got.rule)
    return out


def assignments(facts: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str, str]]:
    return {
        sid: (f["touchpoint"], f["journey_stage"], f["touchpoint_rule"])
        for sid, f in facts.items()
        if not f["deleted"]
    }


class TestRemap:
    async def test_changed_rules_move_facts_and_rollups_follow(
        self, engine: AsyncEngine, seeded: list[Any], before: Journey, after: Journey
    ) -> None:
        old, new = resolved(before, seeded), resolved(after, seeded)
        summary = await remap(create_sessionmaker(engine), after, batch_size=7)
        facts = await fact_rows(engine)
        assert assignments(facts) == new
        assert await stored_rollups(engine) == recomputed(facts)
        moved = Counter((old[s][0], new[s][0]) for s in new if old[s][:2] != new[s][:2])
        assert (summary.scanned, summary.moves) == (len(seeded), moved)
        assert summary.relabelled == sum(
            old[s][:2] == new[s][:2] and old[s][2] != new[s][2] for s in new
        )
        assert {("mobile_app", "brand"), ("delivery", "delivery")} <= set(moved)

    async def test_second_remap_changes_nothing(
        self, engine: AsyncEngine, seeded: list[Any], after: Journey
    ) -> None:
        sessions = create_sessionmaker(engine)
        await remap(sessions, after, batch_size=7)
        facts, rollups = await fact_rows(engine), await stored_rollups(engine)
        again = await remap(sessions, after, batch_size=5)
        assert (again.scanned, again.moved, again.relabelled, again.rollup_rows) == (
            len(seeded),
            0,
            0,
            0,
        )
        assert await fact_rows(engine) == facts  # updated_at included: no row was rewritten
        assert await stored_rollups(engine) == rollups

    async def test_dry_run_reports_the_moves_and_writes_nothing(
        self, engine: AsyncEngine, seeded: list[Any], after: Journey
    ) -> None:
        sessions = create_sessionmaker(engine)
        facts, rollups = await fact_rows(engine), await stored_rollups(engine)
        dry = await remap(sessions, after, dry_run=True)
        assert await fact_rows(engine) == facts
        assert await stored_rollups(engine) == rollups
        real = await remap(sessions, after)
        assert (dry.moved, dry.relabelled, dry.moves) == (real.moved, real.relabelled, real.moves)
        assert real.moved > 0

    async def test_tombstones_keep_their_old_touchpoint(
        self, engine: AsyncEngine, seeded: list[Any], after: Journey
    ) -> None:
        tombstones = {s: f for s, f in (await fact_rows(engine)).items() if f["deleted"]}
        await remap(create_sessionmaker(engine), after, batch_size=7)
        facts = await fact_rows(engine)
        assert len(tombstones) == 8
        assert {s: facts[s] for s in tombstones} == tombstones

    async def test_remap_alongside_the_writer_keeps_rollups_equal_to_the_facts(
        self, engine: AsyncEngine, writer: FeedbackWriter, seeded: list[Any], after: Journey
    ) -> None:
        # The classifier restarted on the new catalog: new revisions and new items use it.
        revisions = generated(after, 60, seed=3, revision="4")
        writes = [
            writer.write([fact_from_event(e) for e in revisions[i : i + 5]])
            for i in range(0, 60, 5)
        ]
        await asyncio.gather(remap(create_sessionmaker(engine), after, batch_size=3), *writes)
        facts = await fact_rows(engine)
        assert await stored_rollups(engine) == recomputed(facts)
        latest = {e.data.source_id: e for e in [*seeded, *revisions]}
        assert assignments(facts) == resolved(after, list(latest.values()))
