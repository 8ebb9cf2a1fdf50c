"""What the vendor formats share: reading saved API responses and normalising their times.

A file holds one saved response, or several (one per line, as `>>` appends pages). Every time
is sent as UTC, so an item's revision is the same whichever way it reached us (import or
webhook).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from services.importer.errors import FormatError
from services.importer.records import Item, Record

BOM = b"\xef\xbb\xbf"  # the UTF-8 byte-order mark some Windows tools write first


class Page:
    """One saved API response; `line` is its line in the file when the file holds several."""

    def __init__(self, doc: Any, line: int | None) -> None:
        self.doc = doc
        self.line = line

    def record(self, path: str, vendor_id: Any, **kw: Any) -> Record:
        """A record located by JSON path and the vendor's id, e.g. `reviews[3] (id abc)`."""
        where = path if vendor_id is None else f"{path} (id {vendor_id})"
        if self.line is not None:
            where = f"line {self.line}: {where}"
        return Record(where=where, line=self.line, **kw)

    def not_a(self, vendor: str, expected: str) -> FormatError:
        """The error for a page that is not the vendor's response at all."""
        at = f"line {self.line}: " if self.line is not None else ""
        return FormatError(f"{at}not a {vendor} response: expected {expected}")


def load_pages(path: Path) -> list[Page]:
    data = path.read_bytes().removeprefix(BOM)
    try:
        return [Page(orjson.loads(data), None)]
    except orjson.JSONDecodeError:
        pass
    pages = []
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            pages.append(Page(orjson.loads(raw), number))
        except orjson.JSONDecodeError as exc:
            raise FormatError(f"line {number}: not JSON ({exc.msg})") from exc
    if not pages:
        raise FormatError("the file is empty")
    return pages


def list_under(page: Page, key: str, vendor: str) -> list[Any]:
    """`page.doc[key]` as a list, or a FormatError naming what a `vendor` response looks like."""
    doc = page.doc
    value = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(value, list):
        raise page.not_a(vendor, f"an object with a {key!r} list")
    return value


class Skipped(Exception):
    """Raised by a mapper for a vendor item that is not customer feedback."""


Mapper = Callable[[dict[str, Any]], Item]


def indexed(values: list[Any], key: str) -> Iterator[tuple[str, Any]]:
    """(JSON path, value) of each element: `reviews[0]`, `reviews[1]`, ..."""
    for index, value in enumerate(values):
        yield f"{key}[{index}]", value


def map_items(
    page: Page, entries: Iterable[tuple[str, Any]], id_field: str, mapper: Mapper
) -> Iterator[Record]:
    """A record per vendor item: the mapped item, or the reason it has none."""
    for path, value in entries:
        if not isinstance(value, dict):
            yield page.record(path, None, error="expected an object")
            continue
        vendor_id = value.get(id_field)
        try:
            yield page.record(path, vendor_id, item=mapper(value))
        except Skipped as skip:
            yield page.record(path, vendor_id, skip=str(skip))
        except ValueError as exc:
            yield page.record(path, vendor_id, error=str(exc))


def utc(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat() if ts.tzinfo else ts.replace(tzinfo=UTC).isoformat()


def parse_iso(value: Any, field: str) -> str:
    """An ISO-8601 time (offset or Z; zone-less is UTC) as UTC text."""
    if not isinstance(value, str):
        raise ValueError(f"{field}: missing or not a time")
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(f"{field}: not an ISO-8601 time: {value!r}") from None


def parse_unix(value: Any, field: str) -> str:
    """Unix seconds (int, float or numeric text) as UTC text."""
    try:
        return utc(datetime.fromtimestamp(float(value), UTC))
    except (TypeError, ValueError, OverflowError, OSError):
        raise ValueError(f"{field}: not Unix seconds: {value!r}") from None


def parse_local(value: Any, field: str, zone: str) -> str:
    """A zone-less 'YYYY-MM-DD HH:MM:SS' the vendor documents as local to `zone`, as UTC text."""
    if not isinstance(value, str):
        raise ValueError(f"{field}: missing or not a time")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{field}: not a time: {value!r}") from None
    return utc(ts if ts.tzinfo else ts.replace(tzinfo=_zone(zone)))


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError as exc:
        raise FormatError(f"time zone {name} is unknown here: install tzdata") from exc


def language_of(locale: Any) -> str | None:
    """Primary language subtag of a locale ('en_GB', 'pt-BR' -> 'en', 'pt')."""
    if not isinstance(locale, str) or not locale.strip():
        return None
    return locale.replace("-", "_").split("_", 1)[0].lower()


def compact(item: Item) -> Item:
    """`item` without None values, so absent vendor fields are absent fields, not nulls."""
    return {k: v for k, v in item.items() if v is not None and v != {}}
