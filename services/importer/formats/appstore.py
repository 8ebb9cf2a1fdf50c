"""`appstore`: saved App Store Connect API `customerReviews` responses.

A list (`GET /v1/apps/{id}/customerReviews`: `{"data": [...], "links", "meta"}`) or one review
(`{"data": {...}}`). The resource `id` is the source id; `createdDate` is both when it was
given and its revision, since the API reports no update time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from services.importer.formats.vendor import (
    Page,
    Skipped,
    compact,
    indexed,
    load_pages,
    map_items,
    parse_iso,
)
from services.importer.records import Item, Record

KIND = "reviews"
SOURCE = "appstore"
TYPE = "customerReviews"


def read(path: Path) -> Iterator[Record]:
    for page in load_pages(path):
        yield from map_items(page, _entries(page), "id", to_item)


def _entries(page: Page) -> Iterator[tuple[str, Any]]:
    data = page.doc.get("data") if isinstance(page.doc, dict) else None
    if isinstance(data, dict):
        yield "data", data
    elif isinstance(data, list):
        yield from indexed(data, "data")
    else:
        raise page.not_a("App Store Connect", "a 'data' object or list")


def to_item(resource: dict[str, Any]) -> Item:
    if resource.get("type") != TYPE:
        raise Skipped(f"a {resource.get('type')!r} resource, not a customer review")
    attributes = resource.get("attributes")
    if not isinstance(attributes, dict):
        raise ValueError("attributes: missing")
    created = parse_iso(attributes.get("createdDate"), "attributes.createdDate")
    return compact(
        {
            "source": SOURCE,
            "source_id": resource.get("id"),
            "occurred_at": created,
            "updated_at": created,
            "platform": "app_store",
            "stars": attributes.get("rating"),
            "title": _text(attributes.get("title")),
            "body": _text(attributes.get("body")),
            "metadata": compact({"territory": attributes.get("territory")}),
        }
    )


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
