"""Export the event contracts: JSON Schema per event class and an AsyncAPI 3.0 document.

`python -m shared.schema_export` writes `schemas/`; `--check` writes nothing and exits 1 listing
the files that differ from what the models in shared/events.py generate now; the same check
is tests/unit/test_schemas.py, so the test suite fails on drift.

The JSON Schemas are generated in pydantic's *validation* mode: they describe exactly what a
consumer accepts (KafkaRunner validates every record with the same models, and a record that
fails goes to the DLQ), which is the contract a third-party producer needs. For these models the
serialization-mode schema is identical today. Objects allow additional properties: consumers
ignore fields they do not know (a newer producer's additive change), while our own producers
never write any (the models forbid them when an event is built).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from shared.asyncapi import asyncapi
from shared.event_schemas import EVENTS, json_schema, schema_file

# Tests and tools import the builders from here, where they lived before the split.
__all__ = [
    "ASYNCAPI_FILE",
    "EVENTS",
    "SCHEMA_DIR",
    "asyncapi",
    "drifted",
    "json_schema",
    "main",
    "render",
    "schema_file",
    "write",
]

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
ASYNCAPI_FILE = "asyncapi.yaml"


def render() -> dict[str, str]:
    """File name -> content, deterministic: sorted keys, trailing newline."""
    files = {
        schema_file(e): json.dumps(json_schema(e), indent=2, sort_keys=True, ensure_ascii=False)
        + "\n"
        for e in EVENTS
    }
    files[ASYNCAPI_FILE] = yaml.safe_dump(
        asyncapi(), sort_keys=True, allow_unicode=True, default_flow_style=False, width=100
    )
    return files


def drifted(directory: Path) -> list[str]:
    """Files under `directory` that are missing or differ from what `render()` gives."""
    out = []
    for name, content in render().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            out.append(name)
    return out


def write(directory: Path) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    files = render()
    for name, content in files.items():
        (directory / name).write_text(content, encoding="utf-8")
    return sorted(files)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.schema_export", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the files drifted")
    parser.add_argument("--out", type=Path, default=SCHEMA_DIR, help="default: %(default)s")
    args = parser.parse_args(argv)
    if args.check:
        stale = drifted(args.out)
        for name in stale:
            print(f"drifted: {args.out / name}", file=sys.stderr)
        if stale:
            print("run `python -m shared.schema_export` and commit the result", file=sys.stderr)
        return 1 if stale else 0
    for name in write(args.out):
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
