"""`googleplay`: saved Google Play Developer API `reviews.list` responses (`ReviewsListResponse`).

An item per review: `reviewId` is the source id; the user comment's `lastModified` (protobuf
`{seconds, nanos}`) is both when it was given and its revision, since the API reports no other
time. Where a translation was requested, `originalText` (the customer's words) wins over `text`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.importer.formats.vendor import (
    Skipped,
    compact,
    indexed,
    language_of,
    list_under,
    load_pages,
    map_items,
    utc,
)
from services.importer.records import Item, Record

KIND = "reviews"
SOURCE = "googleplay"


def read(path: Path) -> Iterator[Record]:
    for page in load_pages(path):
        reviews = list_under(page, "reviews", "Google Play reviews.list")
        yield from map_items(page, indexed(reviews, "reviews"), "reviewId", to_item)


def to_item(review: dict[str, Any]) -> Item:
    comments = [c for c in review.get("comments") or [] if isinstance(c, dict)]
    user = next(
        (c["userComment"] for c in comments if isinstance(c.get("userComment"), dict)), None
    )
    if user is None:
        raise Skipped("no user comment")
    modified = _timestamp(user.get("lastModified"))
    title, body = _title_and_body(user.get("originalText") or user.get("text"))
    return compact(
        {
            "source": SOURCE,
            "source_id": review.get("reviewId"),
            "occurred_at": modified,
            "updated_at": modified,
            "platform": "google_play",
            "stars": user.get("starRating"),
            "title": title,
            "body": body,
            "language": language_of(user.get("reviewerLanguage")),
            "customer": compact({"locale": user.get("reviewerLanguage")}),
            "metadata": compact(
                {
                    "device": user.get("device"),
                    "android_os_version": user.get("androidOsVersion"),
                    "app_version_code": user.get("appVersionCode"),
                    "app_version_name": user.get("appVersionName"),
                    "thumbs_up": user.get("thumbsUpCount"),
                    "thumbs_down": user.get("thumbsDownCount"),
                    "developer_replied": any("developerComment" in c for c in comments),
                }
            ),
        }
    )


def _timestamp(value: Any) -> str:
    # JSON carries the int64 seconds as text; nanos below a microsecond cannot be kept.
    if not isinstance(value, dict):
        raise ValueError("userComment.lastModified: missing")
    try:
        seconds = int(value.get("seconds", 0))
        nanos = int(value.get("nanos", 0))
        ts = datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=nanos // 1000)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ValueError(f"userComment.lastModified: not a timestamp: {value!r}") from None
    return utc(ts)


def _title_and_body(text: Any) -> tuple[str | None, str | None]:
    # Reviews written with a separate title arrive as "title<TAB>body".
    if not isinstance(text, str) or not text.strip():
        return None, None
    if "\t" in text:
        title, body = text.split("\t", 1)
        return title.strip() or None, body.strip() or None
    return None, text.strip()
