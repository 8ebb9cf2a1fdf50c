"""What the API benchmark ran on: CPU, memory, PostgreSQL version and settings, load.

Written beside the figures, since a latency means little without the machine that measured it.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

PG_SETTINGS = (
    "shared_buffers",
    "work_mem",
    "effective_cache_size",
    "max_parallel_workers_per_gather",
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


async def machine_facts(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        version = (await conn.execute(text("SHOW server_version"))).scalar_one()
        settings = {s: (await conn.execute(text(f"SHOW {s}"))).scalar_one() for s in PG_SETTINGS}
    cpu = cpu_model()
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(pages / 2**30, 1),
        "python": platform.python_version(),
        "postgres": f"PostgreSQL {version}",
        "pg_settings": ", ".join(f"{k}={v}" for k, v in settings.items()),
    }


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())
