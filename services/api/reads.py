"""Which rows a score statement reads: one source's table, or a slice's edge hours and its day
twin's whole UTC days (planner.split) as one UNION ALL, each branch an index range of one slice.

Every window's rows are still told apart after the union: a branch keeps its slice column, so a
condition names the part (slice and range) a row was read for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, Table, and_, or_, select, union_all

from services.api.planner import Part, Source
from shared.tables import score_rollups, score_slices

# Execution option of a statement better run without parallel workers (see within).
SERIAL = "voc_serial"


def table(source: Source) -> Table:
    return score_rollups if source.slice is None else score_slices


def _disjoint(parts: Sequence[Part]) -> list[Part]:
    """The parts with overlapping or touching ranges of one source merged, in time order."""
    merged: list[Part] = []
    for part in sorted(parts, key=lambda p: (p.source.name, p.start)):
        last = merged[-1] if merged else None
        if last is not None and last.source == part.source and part.start <= last.end:
            merged[-1] = replace(last, end=max(last.end, part.end))
        else:
            merged.append(part)
    return merged


def read_from(parts: Sequence[Part]) -> FromClause:
    """What a statement reads: the table of its one source, or, when the parts come from a
    slice and its day twin, the UNION ALL of the rows of each (merged) part, so a row is read
    once however many windows name it. A branch a range, not ORed ranges: each is a plain
    index range scan of the slice (an OR of ranges planned as a sequential scan, measured)."""
    if len({p.source for p in parts}) == 1:
        return table(parts[0].source)
    branches = [
        select(score_slices).where(score_slices.c.slice == p.source.slice, _range(score_slices, p))
        for p in _disjoint(parts)
    ]
    return union_all(*branches).subquery("parts")


def _range(rows: FromClause, part: Part) -> ColumnElement[bool]:
    return and_(rows.c.bucket_start >= part.start, rows.c.bucket_start < part.end)


def _union(rows: FromClause) -> bool:
    return rows is not score_rollups and rows is not score_slices


def without_other_slices(stmt: Select[Any], rows: FromClause, parts: Sequence[Part]) -> Select[Any]:
    """Only the source's rows: a slice's rows share score_slices with the other slices'."""
    if rows is not score_slices:
        return stmt  # score_rollups, or the parts' union (each branch is one slice's rows)
    return stmt.where(score_slices.c.slice == parts[0].source.slice)


def window_rows(rows: FromClause, parts: Sequence[Part]) -> ColumnElement[bool]:
    """The rows of a window read as `parts`; in a union, each part's from its own slice."""
    conditions = [
        and_(rows.c.slice == p.source.slice, _range(rows, p)) if _union(rows) else _range(rows, p)
        for p in parts
    ]
    return conditions[0] if len(conditions) == 1 else or_(*conditions)


def within(stmt: Select[Any], rows: FromClause, parts: Sequence[Part]) -> Select[Any]:
    """Only the rows of the parts' windows: a union's branches hold no others already.

    A union is marked SERIAL: the planner prices each branch's index range scan far above what
    it costs and picks a parallel append, whose worker start-up (about 5 ms) outweighs the
    sub-millisecond scans (measured: 7.0 ms parallel, 0.3 ms serial, 30 days of one touchpoint
    by day); the repository turns parallelism off for the transaction before running it."""
    if _union(rows):
        return stmt.execution_options(**{SERIAL: True})
    return stmt.where(window_rows(rows, parts))
