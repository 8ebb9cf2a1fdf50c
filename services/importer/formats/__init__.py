"""The file formats `voc import` reads, by name. Adding a vendor is adding a module here."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from services.importer.formats import (
    appstore,
    csv,
    googleplay,
    jsonl,
    reddit,
    yelp,
    zendesk,
)
from services.importer.kinds import KINDS
from services.importer.records import Record


@dataclass(frozen=True)
class Format:
    name: str
    kinds: tuple[str, ...]  # the kinds its items can be
    read: Callable[[Path], Iterable[Record]]
    describe: str
    # Records in a file without mapping them, for the progress bar's total.
    count: Callable[[Path], int] | None = None
    # The reader holds the whole file anyway (a JSON document), so listing it first is free.
    buffered: bool = True


CANONICAL = tuple(KINDS)

FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "jsonl", CANONICAL, jsonl.read, "canonical objects, one per line", jsonl.count, False
        ),
        Format("csv", CANONICAL, csv.read, "canonical columns, header row", buffered=False),
        Format("googleplay", (googleplay.KIND,), googleplay.read, "Google Play reviews.list"),
        Format("appstore", (appstore.KIND,), appstore.read, "App Store Connect customerReviews"),
        Format("yelp", (yelp.KIND,), yelp.read, "Yelp Fusion business reviews"),
        Format("reddit", (reddit.KIND,), reddit.read, "a Reddit Listing of comments"),
        Format("zendesk", (zendesk.KIND,), zendesk.read, "Zendesk tickets list or one ticket"),
    )
}
