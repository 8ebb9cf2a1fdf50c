"""What the help-desk adapters share: vendor ids, HTML bodies as text, limits, tombstone times."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Annotated, Any

from pydantic import BeforeValidator

from shared.ingest.webhooks import revision_of


def _id(value: Any) -> Any:
    # Vendors send the same id as a number in one payload and a string in the next.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _blank_is_none(value: Any) -> Any:
    # Template-built bodies (Freshdesk) render an empty placeholder as "".
    return None if isinstance(value, str) and not value.strip() else value


Id = Annotated[str, BeforeValidator(_id)]
OptionalId = Annotated[str | None, BeforeValidator(lambda v: _blank_is_none(_id(v)))]
Text = Annotated[str | None, BeforeValidator(_blank_is_none)]

# TicketIn's limits: a long thread must be cut, not refused, or the vendor retries it forever.
SUBJECT_MAX = 1_000
BODY_MAX = 18_000
TAG_MAX = 256
TAGS_MAX = 100

_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
_SKIP = {"script", "style", "head"}
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str | None) -> str | None:
    """Readable text of an HTML message body (Intercom, Freshdesk); None when nothing is left."""
    if html is None:
        return None
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parser.parts).split("\n"))
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    return text or None


def clip(text: str | None, limit: int) -> str | None:
    if text is None or not text.strip():
        return None
    return text if len(text) <= limit else text[:limit]


def clip_tags(tags: Iterable[str]) -> list[str]:
    """Non-empty tags within TicketIn's limits, in the vendor's order, without repeats."""
    kept = dict.fromkeys(t.strip()[:TAG_MAX] for t in tags if t and t.strip())
    return list(kept)[:TAGS_MAX]


def lower(value: str | None) -> str | None:
    """Status-like labels: vendors mix `OPEN`, `Open` and `open` for the same state."""
    return value.strip().lower() if value and value.strip() else None


def tombstone_revision(*moments: datetime | None) -> str:
    """A deletion's revision: just after the latest of `moments` (event time, updated-at).

    Every version published before was revised at or before those moments, so the tombstone
    outranks them, and the extra microsecond keeps its event id apart from a version stamped
    in the same second (vendors' updated-at is in whole seconds).
    """
    latest = max(m for m in moments if m is not None)
    return revision_of(latest + timedelta(microseconds=1))
