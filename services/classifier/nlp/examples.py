"""The labelled example set: its rows, their parsing, and the text key used for split hygiene."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Literal

from shared.events import SentimentLabel, Topic

Split = Literal["train", "test"]
# Kinds of text an example was written to exercise; the evaluation reports each as a slice.
TAGS = ("social", "negation", "sarcasm", "polite", "mixed")


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    lang: str
    text: str
    sentiment: SentimentLabel
    topics: tuple[Topic, ...]  # primary first
    split: Split
    tags: tuple[str, ...] = ()


def normalise_text(text: str) -> str:
    """The text with case, punctuation, spacing and Unicode forms folded away, so that
    "Never again." and "never again!!" compare equal; emoji and digits are kept."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = (ch if unicodedata.category(ch)[0] not in "PZC" else " " for ch in folded)
    return " ".join("".join(kept).split())


def parse_examples(raw: str) -> list[Example]:
    """Examples from JSON lines; a malformed line fails loudly, since the file is ours."""
    examples = []
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            topics = tuple(Topic(t) for t in row["topics"])
            tags = tuple(str(t) for t in row.get("tags", ()))
            if not topics or row["split"] not in ("train", "test"):
                raise ValueError("needs at least one topic and split train|test")
            if not set(tags) <= set(TAGS):
                raise ValueError(f"unknown tags {sorted(set(tags) - set(TAGS))}")
            examples.append(
                Example(
                    id=str(row["id"]),
                    lang=str(row["lang"]),
                    text=str(row["text"]),
                    sentiment=SentimentLabel(row["sentiment"]),
                    topics=topics,
                    split=row["split"],
                    tags=tags,
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"examples line {lineno}: {exc}") from exc
    return examples
