"""`jsonl`: one canonical request object per line, as the ingestion endpoint takes it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from services.importer.formats.vendor import BOM
from services.importer.records import Record


def read(path: Path) -> Iterator[Record]:
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if number == 1:
                raw = raw.removeprefix(BOM)
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                yield Record.at_line(
                    number, error=f"invalid JSON: {exc.msg} (at character {exc.pos + 1})"
                )
                continue
            if not isinstance(obj, dict):
                yield Record.at_line(number, error="expected a JSON object")
                continue
            yield Record.at_line(number, item=obj)


def count(path: Path) -> int:
    """Records in the file (non-blank lines), for the progress bar."""
    with path.open("rb") as f:
        return sum(1 for raw in f if raw.strip())
