"""`voc remap`: re-resolve past facts with the current journey catalog and move their scores.

`python -m services.metrics.remap [--dry-run] [--batch-size N] [--journey FILE]`

After the journey rules change, every live fact is resolved again from its stored fields
(`shared.journey`, the classifier's own semantics). A fact whose touchpoint or stage changes
takes its rollup and slice contributions out of the old rows and puts them into the new ones,
in the same transaction as the fact update, so the rollups and slices never disagree with the
facts. Batches go in feedback_id order (keyset), each one transaction with its facts locked FOR
UPDATE, the writer's lock order: the metrics writer may run meanwhile, and whichever of the two
comes second sees the other's result. A second run finds nothing to change.

Restart the classifier with the new catalog before remapping: items it enriches with the old one
after the remap are stored as it resolved them.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import any_, bindparam, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics import repository
from services.metrics.contributions import Deltas, Parts, RollupKey, SliceKey, contribution
from services.metrics.settings import MetricsSettings
from shared.db import create_engine, create_sessionmaker
from shared.journey import ItemFields, Journey, load_journey
from shared.tables import feedback_facts
from shared.telemetry import configure_logging

log = structlog.get_logger(__name__)

DEFAULT_BATCH_SIZE = 1000
_C = feedback_facts.c
_IDS = bindparam("ids", type_=ARRAY(postgresql.UUID(as_uuid=True)))
# Keyset page of live ids, unlocked: the lock is taken by id below, so a row deleted meanwhile
# is dropped from the batch without ending the scan early (LIMIT with FOR UPDATE could).
_NEXT_IDS = (
    select(_C.feedback_id)
    .where(_C.feedback_id > bindparam("after"), _C.deleted.is_(False))
    .order_by(_C.feedback_id)
    .limit(bindparam("limit"))
)
_FACTS = (
    select(*(c for c in feedback_facts.columns if c.name != "redacted_text"))
    .where(_C.feedback_id == any_(_IDS), _C.deleted.is_(False))
    .order_by(_C.feedback_id)
)
_UPDATE = text(
    "UPDATE feedback_facts AS f SET touchpoint = u.touchpoint, journey_stage = u.stage, "
    "touchpoint_rule = u.rule, updated_at = now() "
    "FROM unnest(CAST(:ids AS UUID[]), CAST(:touchpoints AS TEXT[]), CAST(:stages AS TEXT[]), "
    "CAST(:rules AS TEXT[])) AS u(feedback_id, touchpoint, stage, rule) "
    "WHERE f.feedback_id = u.feedback_id"
)
_ZERO_UUID = UUID(int=0)


def item_fields(fact: Mapping[str, Any]) -> ItemFields:
    """What the catalog sees of a stored fact (ticket tags are kept in metadata["tags"])."""
    return ItemFields(
        source_kind=fact["source_kind"],
        source=fact["source"],
        channel=fact["channel"] or None,
        touchpoint_hint=fact["touchpoint_hint"],
        metadata=fact["metadata"] or {},
    )


def topic_labels(fact: Mapping[str, Any]) -> list[str]:
    """The fact's topics in stored order, which is the classifier's (primary first)."""
    return [t["label"] for t in fact["topics"] or () if isinstance(t, dict) and "label" in t]


@dataclass(slots=True)
class BatchPlan:
    """What one batch writes: fact updates (id order), non-zero rollup and slice deltas."""

    updates: list[tuple[UUID, str, str, str]] = field(default_factory=list)
    deltas: dict[RollupKey, Parts] = field(default_factory=dict)
    slice_deltas: dict[SliceKey, Parts] = field(default_factory=dict)
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)
    relabelled: int = 0


def plan_batch(facts: Sequence[Mapping[str, Any]], journey: Journey) -> BatchPlan:
    """Resolve each live fact again; pure, so the decision is testable without a database."""
    out = BatchPlan()
    deltas = Deltas()
    for fact in facts:
        got = journey.resolve(item_fields(fact), topic_labels(fact))
        new = (got.touchpoint, got.stage.value, got.rule)
        old = (fact["touchpoint"], fact["journey_stage"], fact["touchpoint_rule"])
        if new == old:
            continue
        out.updates.append((fact["feedback_id"], *new))
        if new[:2] == old[:2]:
            out.relabelled += 1  # another rule, same row of the rollups: no score moves
            continue
        out.moves[(old[0], new[0])] += 1
        moved = {**fact, "touchpoint": new[0], "journey_stage": new[1]}
        # Slices without touchpoint or stage get -x and +x on one row: nonzero() drops them.
        deltas.add(contribution(fact), -1)
        deltas.add(contribution(moved), +1)
    kept = deltas.nonzero()
    out.deltas, out.slice_deltas = kept.rollups, kept.slices
    return out


@dataclass(slots=True)
class RemapSummary:
    scanned: int = 0
    moved: int = 0
    relabelled: int = 0
    rollup_rows: int = 0
    slice_rows: int = 0
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)
    dry_run: bool = False

    def lines(self) -> list[str]:
        verb = "would move" if self.dry_run else "moved"
        head = (
            f"remap: {self.scanned} live facts scanned, {verb} {self.moved} "
            f"(touchpoint or stage), {self.relabelled} with only a new rule, "
            f"{self.rollup_rows} rollup and {self.slice_rows} slice row updates"
        )
        if self.dry_run:
            head += " (dry run: nothing written)"
        pairs = sorted(self.moves.items(), key=lambda kv: (-kv[1], kv[0]))
        return [head, *(f"  {old} -> {new}: {n}" for (old, new), n in pairs)]


async def remap_batch(
    session: AsyncSession, journey: Journey, after: UUID, limit: int, *, lock: bool = True
) -> tuple[UUID | None, int, BatchPlan]:
    """One batch after `after`: (the last id scanned or None at the end, facts scanned, plan).

    The caller owns the transaction; committing it applies the plan atomically."""
    params = {"after": after, "limit": limit}
    ids = list((await session.execute(_NEXT_IDS, params)).scalars())
    if not ids:
        return None, 0, BatchPlan()
    stmt = _FACTS.with_for_update() if lock else _FACTS
    facts = [dict(row) for row in (await session.execute(stmt, {"ids": ids})).mappings()]
    plan = plan_batch(facts, journey)
    if plan.updates:
        columns = list(zip(*plan.updates, strict=True))
        await session.execute(
            _UPDATE,
            dict(zip(("ids", "touchpoints", "stages", "rules"), map(list, columns), strict=True)),
        )
        await repository.apply_deltas(session, plan.deltas)
        await repository.apply_slice_deltas(session, plan.slice_deltas)
    return ids[-1], len(facts), plan


async def remap(
    sessions: async_sessionmaker[AsyncSession],
    journey: Journey,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
) -> RemapSummary:
    """Remap every live fact, one transaction a batch; a dry run locks and writes nothing."""
    summary = RemapSummary(dry_run=dry_run)
    after: UUID | None = _ZERO_UUID
    while after is not None:
        async with sessions() as session, session.begin() as tx:
            after, scanned, plan = await remap_batch(
                session, journey, after, batch_size, lock=not dry_run
            )
            if dry_run:
                await tx.rollback()
        summary.scanned += scanned
        summary.moved += sum(plan.moves.values())
        summary.relabelled += plan.relabelled
        summary.rollup_rows += len(plan.deltas)
        summary.slice_rows += len(plan.slice_deltas)
        summary.moves.update(plan.moves)
        log.debug("metrics.remap.batch", scanned=scanned, updated=len(plan.updates))
    log.info(
        "metrics.remap.finished",
        scanned=summary.scanned,
        moved=summary.moved,
        relabelled=summary.relabelled,
        dry_run=dry_run,
    )
    return summary


async def _run(settings: MetricsSettings, journey: Journey, batch_size: int, dry: bool) -> None:
    engine = create_engine(settings.database)
    try:
        summary = await remap(
            create_sessionmaker(engine), journey, batch_size=batch_size, dry_run=dry
        )
    finally:
        await engine.dispose()
    print("\n".join(summary.lines()))


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="voc remap", description="Re-resolve past facts with the current journey catalog."
    )
    parser.add_argument("--dry-run", action="store_true", help="Report, change nothing.")
    parser.add_argument(
        "--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE, help="Facts a transaction."
    )
    parser.add_argument(
        "--journey",
        type=Path,
        help="Catalog file (default: $VOC_JOURNEY_FILE, then the packaged shared/journey.yaml).",
    )
    parser.add_argument(
        "--url", help="Database URL (default: METRICS_DATABASE__URL, then VOC_DATABASE_URL)."
    )
    args = parser.parse_args(argv)
    settings = MetricsSettings()
    if args.url:
        database = settings.database.model_copy(update={"url": args.url})
        settings = settings.model_copy(update={"database": database})
    configure_logging(settings.service_name, env=settings.env, level=settings.log_level)
    journey = load_journey(args.journey)  # a broken catalog stops here, before any change
    asyncio.run(_run(settings, journey, args.batch_size, args.dry_run))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
