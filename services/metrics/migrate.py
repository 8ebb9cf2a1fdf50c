"""Bring the metrics database to the latest schema: `python -m services.metrics.migrate`.

The launcher and docker-compose run it before the services start. Idempotent, and safe to run
from several places at once (the migration holds an advisory lock).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config

from services.metrics.settings import MetricsSettings
from shared.db import async_url
from shared.telemetry import configure_logging

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")

log = structlog.get_logger(__name__)


def alembic_config(url: str) -> Config:
    config = Config(str(ALEMBIC_INI))
    # Through attributes, not the ini option: a URL may hold '%', which configparser interpolates.
    config.attributes["url"] = async_url(url)
    config.attributes["configure_logging"] = False
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision`. Blocking: from async code use a thread,
    since the migration environment runs its own event loop."""
    command.upgrade(alembic_config(url), revision)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.metrics.migrate", description=__doc__)
    parser.add_argument(
        "--url", help="Database URL (default: METRICS_DATABASE__URL, then VOC_DATABASE_URL)."
    )
    parser.add_argument("--revision", default="head", help="Target revision (default: head).")
    args = parser.parse_args(argv)
    settings = MetricsSettings()
    configure_logging(settings.service_name, env=settings.env, level=settings.log_level)
    upgrade(args.url or settings.database.url, args.revision)
    log.info("metrics.migrated", revision=args.revision)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
