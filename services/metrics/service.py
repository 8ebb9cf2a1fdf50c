"""The writer's logic, free of I/O: which versions win, and what the rollups must change by.

Per feedback_id the latest version wins, ordered by (revision_rank, received_at); a duplicate
(same event_id) or an older version changes nothing; a newer one takes the stored fact's
contribution out of the rollups and slices and puts its own in. The change is therefore a sum of
differences, which commutes with any other batch's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from services.metrics.contributions import Deltas, Parts, RollupKey, SliceKey, contribution
from services.metrics.models import Fact


def version_order(fact: Mapping[str, Any]) -> tuple[int, datetime]:
    return fact["revision_rank"], fact["received_at"]


@dataclass(frozen=True, slots=True)
class Collapsed:
    latest: list[Fact]
    skipped: Counter[str] = field(default_factory=Counter)


def collapse(facts: Iterable[Fact]) -> Collapsed:
    """Keep the newest version of each item in the batch; on a full tie the first one stays."""
    latest: dict[UUID, Fact] = {}
    skipped: Counter[str] = Counter()
    for fact in facts:
        fid = fact["feedback_id"]
        kept = latest.get(fid)
        if kept is None:
            latest[fid] = fact
            continue
        loser = kept
        if version_order(fact) > version_order(kept):
            latest[fid] = fact
        else:
            loser = fact
        skipped["duplicate" if loser["event_id"] == latest[fid]["event_id"] else "stale"] += 1
    return Collapsed(list(latest.values()), skipped)


@dataclass(slots=True)
class Plan:
    """What one batch writes: fact upserts (sorted by id), non-zero rollup and slice deltas."""

    facts: list[Fact] = field(default_factory=list)
    deltas: dict[RollupKey, Parts] = field(default_factory=dict)
    slice_deltas: dict[SliceKey, Parts] = field(default_factory=dict)
    written: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)


def plan(collapsed: Collapsed, stored: Mapping[UUID, Mapping[str, Any]]) -> Plan:
    """Compare the batch's winners with the stored facts (locked by the caller)."""
    out = Plan(skipped=Counter(collapsed.skipped))
    deltas = Deltas()
    for fact in sorted(collapsed.latest, key=lambda f: f["feedback_id"]):
        old = stored.get(fact["feedback_id"])
        if old is not None and old["event_id"] == fact["event_id"]:
            out.skipped["duplicate"] += 1
            continue
        if old is not None and version_order(fact) <= version_order(old):
            out.skipped["stale"] += 1
            continue
        out.facts.append(fact)
        out.written["deleted" if fact["deleted"] else "updated" if old else "inserted"] += 1
        deltas.add(contribution(old), -1)
        deltas.add(contribution(fact), +1)
    kept = deltas.nonzero()
    out.deltas, out.slice_deltas = kept.rollups, kept.slices
    return out
