"""All SQL of the metrics writer. Four statements a batch, whatever its size: lock the stored
facts, upsert the new ones, add the rollup deltas, add the slice deltas. Arrays go through
`unnest`, so a batch never costs a round trip per row nor hits the bind-parameter limit."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import any_, bindparam, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.contributions import Parts, RollupKey, SliceKey
from services.metrics.errors import ConcurrentFactWrite
from services.metrics.models import Fact
from shared.tables import (
    FLOAT_MEASURES,
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
    SLICE_DIMENSIONS,
    feedback_facts,
    score_rollups,
    score_slices,
)

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_JSON_COLUMNS = frozenset({"topics", "metadata"})
FACT_COLUMNS = tuple(c.name for c in feedback_facts.columns if c.name != "updated_at")
ROLLUP_KEY_COLUMNS = ("bucket_start", *ROLLUP_DIMENSIONS)
SLICE_KEY_COLUMNS = ("slice", *SLICE_DIMENSIONS, "bucket_start")
# What contributions.py and service.py need from a stored fact (topics for the topic slices);
# the text stays where it is.
_LOCKED_COLUMNS = [c for c in feedback_facts.columns if c.name not in {"redacted_text", "metadata"}]


def _sql_type(table_column: Any) -> str:
    return str(table_column.type.compile(dialect=_DIALECT))


def _unnest_insert(table: Any, columns: Sequence[str]) -> str:
    """`INSERT INTO t (cols) SELECT cols FROM unnest(:col::type[], ...)`, one array a column."""
    arrays, picks = [], []
    for name in columns:
        is_json = name in _JSON_COLUMNS
        arrays.append(f"CAST(:{name} AS {'TEXT' if is_json else _sql_type(table.c[name])}[])")
        picks.append(f'u."{name}"::jsonb' if is_json else f'u."{name}"')
    names = ", ".join(f'"{n}"' for n in columns)
    return (
        f"INSERT INTO {table.name} ({names}) SELECT {', '.join(picks)} "
        f"FROM unnest({', '.join(arrays)}) AS u({names})"
    )


def _facts_upsert_sql() -> str:
    insert = _unnest_insert(feedback_facts, FACT_COLUMNS)
    updates = ", ".join(f'"{n}" = excluded."{n}"' for n in FACT_COLUMNS if n != "feedback_id")
    # Only rows this transaction locked may be overwritten: a conflict on an id it took for new
    # means a concurrent writer got there first, and the batch must be recomputed (see below).
    return (
        f"{insert} ON CONFLICT (feedback_id) DO UPDATE SET {updates}, updated_at = now() "
        "WHERE feedback_facts.feedback_id = ANY(CAST(:locked_ids AS UUID[])) "
        "RETURNING feedback_id"
    )


def _add_deltas_sql(table: Any, key_columns: Sequence[str]) -> str:
    insert = _unnest_insert(table, (*key_columns, *ROLLUP_MEASURES))
    keys = ", ".join(f'"{k}"' for k in key_columns)
    adds = ", ".join(f'"{m}" = {table.name}."{m}" + excluded."{m}"' for m in ROLLUP_MEASURES)
    return f"{insert} ON CONFLICT ({keys}) DO UPDATE SET {adds}"


_UPSERT_FACTS = text(_facts_upsert_sql())
_UPSERT_ROLLUPS = text(_add_deltas_sql(score_rollups, ROLLUP_KEY_COLUMNS))
_UPSERT_SLICES = text(_add_deltas_sql(score_slices, SLICE_KEY_COLUMNS))
_LOCK_FACTS = (
    select(*_LOCKED_COLUMNS)
    .where(
        feedback_facts.c.feedback_id
        == any_(bindparam("ids", type_=ARRAY(postgresql.UUID(as_uuid=True))))
    )
    # One lock order for every writer, so two replicas sharing ids wait instead of deadlocking.
    .order_by(feedback_facts.c.feedback_id)
    .with_for_update()
)


async def lock_facts(session: AsyncSession, ids: Sequence[UUID]) -> dict[UUID, dict[str, Any]]:
    """The stored facts of `ids`, locked until the transaction ends."""
    if not ids:
        return {}
    rows = (await session.execute(_LOCK_FACTS, {"ids": sorted(ids)})).mappings()
    return {row["feedback_id"]: dict(row) for row in rows}


async def upsert_facts(
    session: AsyncSession, facts: Sequence[Fact], locked_ids: Sequence[UUID]
) -> None:
    """Write `facts` in one statement; rows of `locked_ids` are replaced, the others inserted.

    Raises ConcurrentFactWrite when an id missing at lock time was inserted meanwhile by another
    transaction: the caller's difference was computed against nothing, so it must be redone.
    """
    if not facts:
        return
    params: dict[str, list[Any]] = {
        name: [json.dumps(f[name]) if name in _JSON_COLUMNS else f[name] for f in facts]
        for name in FACT_COLUMNS
    }
    params["locked_ids"] = list(locked_ids)
    written = (await session.execute(_UPSERT_FACTS, params)).scalars().all()
    if len(written) != len(facts):
        raise ConcurrentFactWrite(f"{len(facts) - len(written)} facts were written concurrently")


async def _add_deltas(
    session: AsyncSession, statement: Any, key_columns: Sequence[str], deltas: Mapping[Any, Parts]
) -> int:
    if not deltas:
        return 0
    keys = sorted(deltas)
    params: dict[str, list[Any]] = {
        name: [key[i] for key in keys] for i, name in enumerate(key_columns)
    }
    for measure in ROLLUP_MEASURES:
        cast = float if measure in FLOAT_MEASURES else int
        params[measure] = [cast(deltas[key].get(measure, 0)) for key in keys]
    await session.execute(statement, params)
    return len(keys)


async def apply_deltas(session: AsyncSession, deltas: Mapping[RollupKey, Parts]) -> int:
    """Add `deltas` to the rollups in one statement, rows in key order; returns rows touched."""
    return await _add_deltas(session, _UPSERT_ROLLUPS, ROLLUP_KEY_COLUMNS, deltas)


async def apply_slice_deltas(session: AsyncSession, deltas: Mapping[SliceKey, Parts]) -> int:
    """Add `deltas` to score_slices in one statement, rows in key order; returns rows touched."""
    return await _add_deltas(session, _UPSERT_SLICES, SLICE_KEY_COLUMNS, deltas)


async def ping(session: AsyncSession) -> bool:
    return (await session.execute(text("SELECT 1"))).scalar_one() == 1
