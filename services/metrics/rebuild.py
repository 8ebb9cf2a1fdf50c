"""`voc rollups-rebuild`: recompute score_rollups and score_slices from the stored facts.

`python -m services.metrics.rebuild [--slices-only] [--truncate] [--dry-run] [--url URL]`

The writer keeps both tables by differences; this recomputes them from feedback_facts in SQL
(DELETE or TRUNCATE, then INSERT ... SELECT ... GROUP BY), for seeding a large benchmark,
repairing after a manual edit of the facts, or filling a new slice. The aggregates are
contributions.parts written in SQL: the same buckets and thresholds, so a rebuild equals what
the writer wrote.

Parts are additive, so only two passes read the facts: one for score_rollups (every dimension)
and one for a "topic base" (topic label x the dimensions of the topic slices, one row per fact
and distinct label, or topic '' for a fact without topics). Each slice is then a GROUP BY of the
freshly written rollups or of the topic base, a fraction of the facts' size; a day-grain slice
is a GROUP BY of its hourly twin's fresh rows by UTC day, smaller still. Rows go in in
primary-key order (statements by slice name, rows sorted): appending to the btree is several
times cheaper than inserting at random places in it, which dominates on millions of rows.

One transaction. By default it first takes SHARE ROW EXCLUSIVE on the three tables: readers (the
api) go on and see the old rows until the commit; the writer and `voc remap` wait, since their
row writes need ROW EXCLUSIVE, which that mode excludes. Otherwise a batch committed between the
facts pass and the commit would be lost from, or counted twice in, the rebuilt rows. Both take
their table locks facts first, then rollups, then slices, as this does, so they queue rather
than deadlock. A dry run does all of it and rolls back: it reports the rows it would write and
the time it would take, and blocks the writer for that long.

`--truncate` empties the rebuilt tables with TRUNCATE instead of DELETE: about twice as fast on
full tables, and no dead rows are left for autovacuum. The price is ACCESS EXCLUSIVE on each
table it empties, so readers (every api score query) wait until the commit instead of reading
the old rows, and a REPEATABLE READ transaction begun before the commit that had not yet read
the table sees it empty (TRUNCATE is not MVCC-safe). Every lock is taken up front, in the same
order, so a deadlock with a reader that holds one table and wants the other aborts the rebuild
before any work, not after. Use it in a maintenance window, or when nobody reads.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.tables import (
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
    SLICE_DIMENSIONS,
    SLICES,
    TOPIC,
    Slice,
    hourly_twin,
)

log = structlog.get_logger(__name__)

_SCORED = "f.sentiment_score IS NOT NULL AND NOT f.unscored"
# contributions.parts, one aggregate a measure over feedback_facts AS f (live facts only).
FACT_AGGREGATES = {
    "n": "count(*)",
    "nps_n": "count(f.nps)",
    "nps_promoters": "count(*) FILTER (WHERE f.nps >= 9)",
    "nps_passives": "count(*) FILTER (WHERE f.nps >= 7 AND f.nps < 9)",
    "nps_detractors": "count(*) FILTER (WHERE f.nps < 7)",
    "csat_n": "count(f.csat)",
    "csat_sum": "coalesce(sum(f.csat), 0)",
    "csat_satisfied": "count(*) FILTER (WHERE f.csat >= 4)",
    "ces_n": "count(f.ces)",
    "ces_sum": "coalesce(sum(f.ces), 0)",
    "ces_easy": "count(*) FILTER (WHERE f.ces >= 5)",
    "stars_n": "count(f.stars)",
    "stars_sum": "coalesce(sum(f.stars), 0)",
    "sentiment_n": f"count(*) FILTER (WHERE {_SCORED})",
    "sentiment_sum": f"coalesce(sum(f.sentiment_score) FILTER (WHERE {_SCORED}), 0)",
    "sentiment_negative": f"count(*) FILTER (WHERE {_SCORED} AND f.sentiment_label = 'negative')",
    # int, not smallint: a square of a smallint may not fit one; sum(int) is a fast bigint sum.
    "ces_sumsq": "coalesce(sum(f.ces::int * f.ces), 0)",
    "stars_sumsq": "coalesce(sum(f.stars::int * f.stars), 0)",
    "sentiment_sumsq": (
        f"coalesce(sum(f.sentiment_score * f.sentiment_score) FILTER (WHERE {_SCORED}), 0)"
    ),
}
# The distinct string labels of a fact's topics; none gives one row with label NULL (topic '').
TOPIC_LATERAL = """LEFT JOIN LATERAL (
    SELECT DISTINCT e.value ->> 'label' AS label
    FROM jsonb_array_elements(
        CASE jsonb_typeof(f.topics) WHEN 'array' THEN f.topics ELSE '[]'::jsonb END
    ) AS e
    WHERE jsonb_typeof(e.value -> 'label') = 'string'
) AS t ON true"""
TOPIC_BASE = "rebuild_topic_base"
LOCK = "LOCK TABLE feedback_facts, score_rollups, score_slices IN SHARE ROW EXCLUSIVE MODE"
# Hash aggregates of a few million groups stay in memory instead of spilling to disk.
WORK_MEM = "SET LOCAL work_mem = '256MB'"


def _measures() -> str:
    return ", ".join(f"{FACT_AGGREGATES[m]} AS {m}" for m in ROLLUP_MEASURES)


def rollups_sql() -> str:
    dims = ", ".join(f"f.{d}" for d in ROLLUP_DIMENSIONS)
    columns = ", ".join(("bucket_start", *ROLLUP_DIMENSIONS, *ROLLUP_MEASURES))
    return (
        f"INSERT INTO score_rollups ({columns}) SELECT f.bucket_start, {dims}, {_measures()} "
        f"FROM feedback_facts AS f WHERE NOT f.deleted GROUP BY f.bucket_start, {dims} "
        f"ORDER BY f.bucket_start, {dims}"
    )


def topic_base_dimensions(slices: Sequence[Slice]) -> tuple[str, ...]:
    """Every dimension some topic slice keeps, topic first (SLICE_DIMENSIONS order)."""
    kept = {d for s in slices if s.has_topic for d in s.dimensions}
    return tuple(d for d in SLICE_DIMENSIONS if d in kept)


def topic_base_sql(dimensions: Sequence[str]) -> str:
    others = [f"f.{d}" for d in dimensions if d != TOPIC]
    groups = ", ".join(["f.bucket_start", "coalesce(t.label, '')", *others])
    picks = ", ".join(["f.bucket_start", f"coalesce(t.label, '') AS {TOPIC}", *others])
    return (
        f"CREATE TEMPORARY TABLE {TOPIC_BASE} ON COMMIT DROP AS SELECT {picks}, {_measures()} "
        f"FROM feedback_facts AS f {TOPIC_LATERAL} WHERE NOT f.deleted GROUP BY {groups}"
    )


# The UTC day of an hourly bucket_start: a day slice's key (contributions.utc_day).
UTC_DAY = "date_trunc('day', bucket_start, 'UTC')"


def slice_sql(
    name: str, dimensions: Sequence[str], source: str, bucket: str = "bucket_start"
) -> str:
    """One slice's rows: `source` (rollups, the topic base or an hourly slice) summed over its
    dimensions and `bucket` (an expression of the source's bucket_start).

    `name` comes from code, never from input. Rows with n = 0 (an incrementally kept rollup row
    whose facts all went) add nothing, and a group of only such rows must not become a row."""
    picks = ", ".join(d if d in dimensions else "''" for d in SLICE_DIMENSIONS)
    sums = ", ".join(f"sum({m})" for m in ROLLUP_MEASURES)
    columns = ", ".join(("slice", *SLICE_DIMENSIONS, "bucket_start", *ROLLUP_MEASURES))
    groups = ", ".join((bucket, *dimensions))
    order = ", ".join((*(d for d in SLICE_DIMENSIONS if d in dimensions), bucket))
    return (
        f"INSERT INTO score_slices ({columns}) SELECT '{name}', {picks}, {bucket}, {sums} "
        f"FROM {source} WHERE n > 0 GROUP BY {groups} ORDER BY {order}"
    )


def slice_source(s: Slice) -> tuple[str, str]:
    """(FROM clause, bucket expression) a slice is rebuilt from; day slices come after the
    hourly ones (rebuild's order), so their twin's rows are already rewritten."""
    if s.grain == "day":
        twin = hourly_twin(s).name
        return f"(SELECT * FROM score_slices WHERE slice = '{twin}') AS twin", UTC_DAY
    return (TOPIC_BASE if s.has_topic else "score_rollups"), "bucket_start"


@dataclass(slots=True)
class RebuildSummary:
    rollup_rows: int | None = None
    slice_rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    dry_run: bool = False

    def lines(self) -> list[str]:
        verb = "would write" if self.dry_run else "wrote"
        rollups = "kept" if self.rollup_rows is None else f"{self.rollup_rows} rows"
        head = (
            f"rollups-rebuild: {verb} score_rollups {rollups}, score_slices "
            f"{sum(self.slice_rows.values())} rows in {self.seconds:.2f} s"
        )
        if self.dry_run:
            head += " (dry run: nothing written)"
        return [head, *(f"  {name}: {n}" for name, n in self.slice_rows.items())]


def lock_statements(*, rollups: bool, slices: bool, truncate: bool) -> list[str]:
    """The table locks a rebuild takes first: SHARE ROW EXCLUSIVE, or with `truncate` ACCESS
    EXCLUSIVE (what TRUNCATE needs) on the tables it empties; always facts, rollups, slices."""
    if not truncate:
        return [LOCK]
    emptied = {"score_rollups": rollups, "score_slices": slices}
    modes = {"feedback_facts": False, **emptied}
    return [
        f"LOCK TABLE {table} IN {'ACCESS EXCLUSIVE' if empty else 'SHARE ROW EXCLUSIVE'} MODE"
        for table, empty in modes.items()
    ]


def clear_sql(table: str, *, truncate: bool) -> str:
    return f"TRUNCATE {table}" if truncate else f"DELETE FROM {table}"


async def _run(session: AsyncSession, sql: str) -> int:
    return int((await session.execute(text(sql))).rowcount)  # type: ignore[attr-defined]


async def rebuild(
    session: AsyncSession, *, rollups: bool = True, slices: bool = True, truncate: bool = False
) -> RebuildSummary:
    """Recompute the rollups and/or slices from the live facts, in the caller's transaction.

    With `rollups=False` the slices without topic are summed from the stored rollups, which the
    writer keeps equal to the facts; rebuild both when in doubt. With `truncate` the tables are
    emptied by TRUNCATE: faster, but readers block until the commit (see the module doc)."""
    if not (rollups or slices):
        raise ValueError("nothing to rebuild: rollups and slices are both off")
    started = time.perf_counter()
    summary = RebuildSummary()
    for lock in lock_statements(rollups=rollups, slices=slices, truncate=truncate):
        await session.execute(text(lock))
    await session.execute(text(WORK_MEM))
    if rollups:
        await session.execute(text(clear_sql("score_rollups", truncate=truncate)))
        summary.rollup_rows = await _run(session, rollups_sql())
        # Statistics of the new rows, or the slices below are planned for an empty table.
        await session.execute(text("ANALYZE score_rollups"))
    if slices:
        await session.execute(text(clear_sql("score_slices", truncate=truncate)))
        if base := topic_base_dimensions(SLICES):
            await session.execute(text(f"DROP TABLE IF EXISTS {TOPIC_BASE}"))
            await session.execute(text(topic_base_sql(base)))
            await session.execute(text(f"ANALYZE {TOPIC_BASE}"))
        for s in sorted(SLICES, key=lambda s: (s.grain == "day", s.name)):
            source, bucket = slice_source(s)
            rows = await _run(session, slice_sql(s.name, s.dimensions, source, bucket))
            summary.slice_rows[s.name] = rows
    # The planner's statistics for the queries the api runs next, on the table just rewritten.
    await session.execute(text("ANALYZE score_slices"))
    summary.seconds = time.perf_counter() - started
    log.info(
        "metrics.rebuild.finished",
        rollup_rows=summary.rollup_rows,
        slice_rows=sum(summary.slice_rows.values()),
        seconds=round(summary.seconds, 3),
        truncate=truncate,
    )
    return summary


if __name__ == "__main__":  # `voc rollups-rebuild` runs this module; the CLI lives beside it
    from services.metrics.rebuild_cli import main

    raise SystemExit(main())
