"""`zendesk`: saved Zendesk Support API ticket responses.

Accepts a ticket list (`GET /api/v2/tickets`, offset or cursor paginated, the incremental export,
`{"tickets": [...]}`), one ticket (`{"ticket": {...}}`) and search results (`{"results": [...]}`,
tickets only). The ticket id is the source id (as in Zendesk's `ticket.*` webhooks) and
`updated_at` the revision. Sideloaded `metric_sets` give the service times.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from services.importer.formats.vendor import (
    Mapper,
    Page,
    Skipped,
    compact,
    indexed,
    load_pages,
    map_items,
    parse_iso,
)
from services.importer.records import Item, Record

KIND = "tickets"
SOURCE = "zendesk"
# Zendesk's CSAT is binary; the scale's ends keep "good" satisfied and "bad" not (CSAT = % 4-5).
CSAT = {"good": 5, "bad": 1}


def read(path: Path) -> Iterator[Record]:
    for page in load_pages(path):
        yield from map_items(page, _tickets(page), "id", _mapper(_metric_sets(page.doc)))


def _tickets(page: Page) -> Iterator[tuple[str, Any]]:
    doc = page.doc if isinstance(page.doc, dict) else {}
    if isinstance(doc.get("ticket"), dict):
        yield "ticket", doc["ticket"]
    elif isinstance(doc.get("tickets"), list):
        yield from indexed(doc["tickets"], "tickets")
    elif isinstance(doc.get("results"), list):
        for path, result in indexed(doc["results"], "results"):
            if not isinstance(result, dict) or result.get("result_type", "ticket") == "ticket":
                yield path, result
    else:
        raise page.not_a("Zendesk", "'tickets', 'ticket' or 'results'")


def _mapper(metric_sets: dict[Any, dict[str, Any]]) -> Mapper:
    def mapper(ticket: dict[str, Any]) -> Item:
        return to_item(ticket, metric_sets.get(ticket.get("id")))

    return mapper


def _metric_sets(doc: Any) -> dict[Any, dict[str, Any]]:
    sets = doc.get("metric_sets") if isinstance(doc, dict) else None
    return {m.get("ticket_id"): m for m in sets or [] if isinstance(m, dict)}


def to_item(ticket: dict[str, Any], metric_set: dict[str, Any] | None = None) -> Item:
    if ticket.get("status") == "deleted":
        raise Skipped("deleted in Zendesk")
    metric_set = metric_set or _dict(ticket.get("metric_set"))
    rating = _dict(ticket.get("satisfaction_rating"))
    via = _dict(ticket.get("via"))
    requester = ticket.get("requester_id")
    ticket_id = ticket.get("id")
    return compact(
        {
            "source": SOURCE,
            "source_id": str(ticket_id) if ticket_id is not None else None,
            "occurred_at": parse_iso(ticket.get("created_at"), "created_at"),
            "updated_at": parse_iso(ticket.get("updated_at"), "updated_at"),
            "customer": compact({"id": str(requester) if requester is not None else None}),
            "channel": via.get("channel"),
            "subject": ticket.get("subject") or None,
            "body": ticket.get("description") or None,
            "status": ticket.get("status"),
            "priority": ticket.get("priority"),
            "tags": ticket.get("tags") or None,
            "csat": CSAT.get(str(rating.get("score"))),
            "first_response_seconds": _seconds(metric_set.get("reply_time_in_minutes")),
            "resolution_seconds": _seconds(metric_set.get("full_resolution_time_in_minutes")),
            "metadata": compact(
                {
                    "type": ticket.get("type"),
                    "brand_id": ticket.get("brand_id"),
                    "group_id": ticket.get("group_id"),
                    "organization_id": ticket.get("organization_id"),
                    "satisfaction_comment": rating.get("comment") or None,
                }
            ),
        }
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _seconds(minutes: Any) -> float | None:
    # Zendesk reports {calendar, business} minutes; customers live on the calendar.
    value = minutes.get("calendar") if isinstance(minutes, dict) else None
    return float(value) * 60 if isinstance(value, int | float) else None
