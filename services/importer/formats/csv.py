"""`csv`: canonical fields as columns, with a header row.

Nested fields are dotted column names (`customer.id`, `engagement.likes`, `metadata.form_id`);
`tags` is one cell of `;`-separated tags. An empty cell is an absent field. Cells stay text:
the service validates and coerces them ("9" is a valid NPS), so errors name the field as in JSON.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from services.importer.errors import FormatError
from services.importer.records import Item, Record

TAG_SEPARATOR = ";"


def read(path: Path) -> Iterator[Record]:
    # utf-8-sig drops the byte-order mark spreadsheet programs put first.
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            raise FormatError(f"line 1: unreadable header row: {exc}") from exc
        columns = _columns(header)
        while True:
            # A quoted cell may span lines: the record starts after the previous one ended.
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                yield Record.at_line(start, error=f"unreadable CSV row: {exc}")
                continue
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(columns):
                yield Record.at_line(
                    start, error=f"{len(row)} cells but the header names {len(columns)} columns"
                )
                continue
            yield Record.at_line(start, item=_item(columns, row))


def _columns(header: list[str]) -> list[tuple[str, ...]]:
    columns = [tuple(part.strip() for part in name.split(".")) for name in header]
    for parts in columns:
        if not all(parts):
            raise FormatError(f"line 1: empty column name in the header ({'.'.join(parts)!r})")
    names = set(columns)
    if len(names) != len(columns):
        twice = next(p for p in columns if columns.count(p) > 1)
        raise FormatError(f"line 1: column {'.'.join(twice)!r} appears twice")
    for parts in columns:
        for depth in range(1, len(parts)):
            if parts[:depth] in names:
                raise FormatError(
                    f"line 1: column {'.'.join(parts)!r} nests under "
                    f"{'.'.join(parts[:depth])!r}, which is a column of its own"
                )
    return columns


def _item(columns: list[tuple[str, ...]], row: list[str]) -> Item:
    item: Item = {}
    for parts, cell in zip(columns, row, strict=False):
        value = cell.strip()
        if not value:
            continue
        parsed: Any = value
        if parts == ("tags",):
            parsed = [t.strip() for t in value.split(TAG_SEPARATOR) if t.strip()]
        node = item
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = parsed
    return item
