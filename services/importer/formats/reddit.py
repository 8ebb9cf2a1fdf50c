"""`reddit`: saved Reddit Listings of comments (`t1`), and of posts (`t3`).

Accepts a Listing (`/r/{sub}/comments`, `/user/{name}/comments`, search) or the two-Listing array
of a post's comment page; nested `replies` are walked, `more` stubs are not fetched. The fullname
(`t1_abc`) is the source id; the `edited` time, else `created_utc`, is the revision.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from services.importer.formats.vendor import (
    Page,
    Skipped,
    compact,
    load_pages,
    map_items,
    parse_unix,
)
from services.importer.records import Item, Record

KIND = "social"
SOURCE = "reddit"
BASE_URL = "https://www.reddit.com"
GONE = {"[deleted]", "[removed]"}


def read(path: Path) -> Iterator[Record]:
    for page in load_pages(path):
        yield from map_items(page, _things(page), "name", to_item)


def _things(page: Page) -> Iterator[tuple[str, Any]]:
    doc = page.doc
    listings = list(enumerate(doc)) if isinstance(doc, list) else [(None, doc)]
    children = [(index, _children(listing)) for index, listing in listings]
    if not children or any(c is None for _, c in children):
        raise page.not_a("Reddit", "a Listing or an array of them")
    for index, things in children:
        yield from _walk(things or [], "" if index is None else f"[{index}]")


def _children(doc: Any) -> list[Any] | None:
    """The children of a Listing, or None when `doc` is no Listing."""
    if not isinstance(doc, dict) or doc.get("kind") != "Listing":
        return None
    data = doc.get("data")
    if not isinstance(data, dict):
        return None
    children = data.get("children") or []
    return children if isinstance(children, list) else None


def _walk(children: list[Any], path: str) -> Iterator[tuple[str, Any]]:
    for i, child in enumerate(children):
        here = f"{path}.data.children[{i}]".lstrip(".")
        if not isinstance(child, dict) or child.get("kind") not in ("t1", "t3"):
            continue  # `more` stubs and other things carry no text of their own
        data = child.get("data")
        yield here, _tagged(data, child["kind"])
        replies = _children(data.get("replies")) if isinstance(data, dict) else None
        if replies:
            yield from _walk(replies, f"{here}.data.replies")


def _tagged(data: Any, kind: str) -> Any:
    # The mapper needs the thing's kind, which sits beside `data`, not in it.
    return {**data, "__kind": kind} if isinstance(data, dict) else data


def to_item(thing: dict[str, Any]) -> Item:
    kind = thing["__kind"]
    text = _text(thing, kind)
    created = parse_unix(thing.get("created_utc"), "created_utc")
    edited = thing.get("edited")
    # `edited` is false, or the Unix time of the last edit.
    updated = parse_unix(edited, "edited") if edited and edited is not True else created
    author = thing.get("author")
    score = thing.get("score")
    permalink = thing.get("permalink")
    name = thing.get("name") or (f"{kind}_{thing['id']}" if thing.get("id") else None)
    return compact(
        {
            "source": SOURCE,
            "source_id": name,
            "occurred_at": created,
            "updated_at": updated,
            "platform": "reddit",
            "author": author if isinstance(author, str) and author not in GONE else None,
            "text": text,
            "url": BASE_URL + permalink if isinstance(permalink, str) else None,
            "engagement": compact(
                {
                    # A downvoted item has a negative score; engagement counts are >= 0.
                    "likes": max(score, 0) if isinstance(score, int) else None,
                    "replies": _replies(thing, kind),
                }
            ),
            "metadata": compact(
                {
                    "subreddit": thing.get("subreddit"),
                    "link_id": thing.get("link_id"),
                    "parent_id": thing.get("parent_id"),
                    "score": score,
                }
            ),
        }
    )


def _text(thing: dict[str, Any], kind: str) -> str:
    if kind == "t1":
        body = thing.get("body")
        if isinstance(body, str) and body.strip() in GONE:
            raise Skipped("deleted on Reddit")
        return body if isinstance(body, str) else ""
    title, selftext = thing.get("title"), thing.get("selftext")
    if isinstance(selftext, str) and selftext.strip() in GONE:
        raise Skipped("deleted on Reddit")
    parts = [p.strip() for p in (title, selftext) if isinstance(p, str) and p.strip()]
    return "\n\n".join(parts)


def _replies(thing: dict[str, Any], kind: str) -> int | None:
    if kind == "t3":
        count = thing.get("num_comments")
        return count if isinstance(count, int) else None
    replies = _children(thing.get("replies")) or []
    return sum(1 for c in replies if isinstance(c, dict) and c.get("kind") == "t1")
