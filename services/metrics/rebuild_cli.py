"""The command line of `voc rollups-rebuild` (see services.metrics.rebuild for what it does).

`python -m services.metrics.rebuild [--slices-only] [--truncate] [--dry-run] [--url URL]`

The rebuild (its SQL, locks and transaction) is services.metrics.rebuild; this is the process
around it: arguments, settings, logging, the summary and exit codes. `voc rollups-rebuild` runs
that module as `__main__`, which calls this `main`, so both spellings stay one command.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from sqlalchemy.exc import DBAPIError, ProgrammingError

from services.metrics.rebuild import RebuildSummary, rebuild
from services.metrics.settings import MetricsSettings
from shared.db import create_engine, create_sessionmaker
from shared.telemetry import configure_logging


async def _main(
    settings: MetricsSettings, *, slices_only: bool, dry_run: bool, truncate: bool = False
) -> RebuildSummary:
    engine = create_engine(settings.database)
    try:
        started = time.perf_counter()
        async with create_sessionmaker(engine)() as session, session.begin() as tx:
            summary = await rebuild(session, rollups=not slices_only, truncate=truncate)
            if dry_run:
                await tx.rollback()
        summary.seconds, summary.dry_run = time.perf_counter() - started, dry_run
        return summary
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="voc rollups-rebuild",
        description="Recompute score rollups and slices from the stored facts.",
    )
    parser.add_argument(
        "--slices-only",
        action="store_true",
        help="Keep score_rollups; rebuild score_slices (from the rollups and the facts' topics).",
    )
    parser.add_argument(
        "--truncate",
        action="store_true",
        help="Empty the tables with TRUNCATE instead of DELETE: about 2x faster on full tables, "
        "but it takes ACCESS EXCLUSIVE locks, so API reads of scores block until the rebuild "
        "commits (without it they go on and see the old rows). For a maintenance window.",
    )
    parser.add_argument("--dry-run", action="store_true", help="Do it all, report, then roll back.")
    parser.add_argument(
        "--url", help="Database URL (default: METRICS_DATABASE__URL, then VOC_DATABASE_URL)."
    )
    args = parser.parse_args(argv)
    settings = MetricsSettings()
    if args.url:
        database = settings.database.model_copy(update={"url": args.url})
        settings = settings.model_copy(update={"database": database})
    configure_logging(settings.service_name, env=settings.env, level=settings.log_level)
    try:
        run = _main(
            settings, slices_only=args.slices_only, dry_run=args.dry_run, truncate=args.truncate
        )
        summary = asyncio.run(run)
    except ProgrammingError as exc:  # an undefined table: the schema is older than the code
        print(f"rollups-rebuild: {exc.orig}; run `voc migrate` first", file=sys.stderr)
        return 2
    except (OSError, DBAPIError) as exc:
        print(f"rollups-rebuild: cannot use the database: {exc}", file=sys.stderr)
        return 2
    print("\n".join(summary.lines()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
