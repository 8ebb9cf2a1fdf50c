"""Plain text from the small HTML subset that social networks post (Mastodon's `content`)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset({"p", "div", "blockquote", "li", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        # Mastodon splits long links into "invisible" and "ellipsis" spans; their text joined
        # back is the whole URL, which is what we want to keep.
        self.parts.append(data)


def html_to_text(markup: str) -> str:
    """The readable text of `markup`: paragraphs as blank lines, `<br>` as newlines, entities
    decoded, tags dropped."""
    collector = _TextCollector()
    collector.feed(markup)
    collector.close()
    text = "".join(collector.parts)
    lines = [line.strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
