"""Assign the train/test split to new example rows, and check the file keeps the split rule.

The rule (data/README.md): within each (language, primary topic, sentiment) cell of n rows,
round_half_up(n / 4) rows are `test`. Rows that already have a split keep it, so the held-back
items stay held back as the set grows; new rows (no `split` key) fill each cell up to its quota.
Which new rows fill a quota is drawn with a fixed seed by `group`, the scenario a row was written
for: translations of one scenario share a group and so tend to land on the same side, which keeps
a test item's near-translations out of the train split. Groups are drawn round-robin over their
kinds of text (tags), so that every kind is measured.

    python -m services.classifier.data.split            # assign splits to new rows, in place
    python -m services.classifier.data.split --check    # verify only; exit 1 on a violation
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from services.classifier.nlp.examples import normalise_text, parse_examples
from services.classifier.nlp.settings import DEFAULT_EXAMPLES

SEED = "voc-examples-split-v1"
_KEY_ORDER = ("id", "lang", "text", "sentiment", "topics", "tags", "group", "split")

Row = dict[str, Any]


def round_half_up(x: float) -> int:
    return int(x + 0.5)


def cell_of(row: Row) -> tuple[str, str, str]:
    return (row["lang"], row["topics"][0], row["sentiment"])


def _priority(rows: Sequence[Row]) -> dict[str, tuple[int, str]]:
    """Draw order of the new rows' groups: round-robin over their kinds of text (first tag, or
    none), seeded within a kind, so every kind gets test items. Languages do not enter, so the
    translations of a group rank the same everywhere."""
    kinds: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if "split" not in row:
            kinds[(row.get("tags") or [""])[0]].add(row.get("group") or row["id"])
    order = {}
    for kind, groups in kinds.items():
        ranked = sorted(groups, key=lambda g: hashlib.sha256(f"{SEED}:{g}".encode()).hexdigest())
        for position, group in enumerate(ranked):
            order[group] = (position, hashlib.sha256(f"{SEED}:{kind}".encode()).hexdigest())
    return order


def assign(rows: Sequence[Row]) -> list[Row]:
    """Rows in the same order, every one with a split; existing splits never change."""
    cells: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        cells[cell_of(row)].append(i)
    out = [dict(r) for r in rows]
    priority = _priority(rows)

    def rank(i: int) -> tuple[tuple[int, str], str]:
        return priority[out[i].get("group") or out[i]["id"]], out[i]["id"]

    for members in cells.values():
        quota = round_half_up(len(members) / 4)
        have = sum(out[i].get("split") == "test" for i in members)
        new = sorted((i for i in members if "split" not in out[i]), key=rank)
        need = max(0, min(quota - have, len(new)))
        for k, i in enumerate(new):
            out[i]["split"] = "test" if k < need else "train"
    return [{k: r[k] for k in _KEY_ORDER if k in r} | r for r in out]


def violations(rows: Sequence[Row]) -> list[str]:
    """Broken rules: split quotas per cell, duplicates across splits, id uniqueness."""
    problems = []
    cells: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for row in rows:
        cells[cell_of(row)].append(row)
    for cell, members in sorted(cells.items()):
        test = sum(r["split"] == "test" for r in members)
        if test != round_half_up(len(members) / 4):
            problems.append(f"cell {cell}: {test} test of {len(members)}")
    ids = [r["id"] for r in rows]
    problems += [f"duplicate id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    seen: dict[str, Row] = {}
    for row in rows:
        key = normalise_text(row["text"])
        if key in seen:
            problems.append(f"{row['id']} repeats {seen[key]['id']} (normalised text)")
        seen.setdefault(key, row)
    return problems


def read_rows(path: Path) -> list[Row]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def write_rows(path: Path, rows: Sequence[Row]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_EXAMPLES)
    parser.add_argument("--check", action="store_true", help="verify only, write nothing")
    args = parser.parse_args(argv)
    rows = read_rows(args.file)
    if not args.check:
        rows = assign(rows)
    problems = violations(rows) if all("split" in r for r in rows) else ["rows without a split"]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    parse_examples("".join(json.dumps(r) + "\n" for r in rows))  # labels valid, or it raises
    if not args.check:
        write_rows(args.file, rows)
    print(json.dumps({"rows": len(rows), "test": sum(r["split"] == "test" for r in rows)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
