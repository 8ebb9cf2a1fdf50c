"""`yelp`: saved Yelp Fusion `GET /v3/businesses/{id}/reviews` responses.

The review `id` is the source id (the same one a Yelp webhook names). Yelp documents
`time_created` as a zone-less Pacific time; it is both when the review was given and its revision.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from services.importer.formats.vendor import (
    compact,
    indexed,
    list_under,
    load_pages,
    map_items,
    parse_local,
)
from services.importer.records import Item, Record

KIND = "reviews"
SOURCE = "yelp"
YELP_ZONE = "America/Los_Angeles"


def read(path: Path) -> Iterator[Record]:
    for page in load_pages(path):
        reviews = list_under(page, "reviews", "Yelp Fusion business reviews")
        yield from map_items(page, indexed(reviews, "reviews"), "id", to_item)


def to_item(review: dict[str, Any]) -> Item:
    created = parse_local(review.get("time_created"), "time_created", YELP_ZONE)
    text = review.get("text")
    return compact(
        {
            "source": SOURCE,
            "source_id": review.get("id"),
            "occurred_at": created,
            "updated_at": created,
            "platform": "yelp",
            "stars": _stars(review.get("rating")),
            "body": text.strip() or None if isinstance(text, str) else None,
            "metadata": compact({"url": review.get("url")}),
        }
    )


def _stars(rating: Any) -> Any:
    # Fusion types rating as a number; a whole 4.0 is 4 stars, anything else the service judges.
    if isinstance(rating, float) and rating.is_integer():
        return int(rating)
    return rating
