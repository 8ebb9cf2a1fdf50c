"""What resolution reads of an item, and how a catalog rule matches it.

Kept apart from the catalog's loading so the matching, the part both the classifier and the
metrics remap run per item, reads on its own: accepted values are folded once per rule, and
matching an item is set lookups only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.events import JourneyStage
from shared.journey_catalog import Rule

_SEPARATORS = re.compile(r"[\s\-./]+")


def normalise(value: str) -> str:
    """Catalog-name form of a free-text label: 'Mobile App' -> 'mobile_app'."""
    return _SEPARATORS.sub("_", value.strip().casefold()).strip("_")


def _fold(values: Iterable[Any]) -> set[str]:
    return {str(v).strip().casefold() for v in values}


def _metadata_values(value: Any) -> set[str]:
    if value is None or isinstance(value, dict):
        return set()
    return _fold(value if isinstance(value, list) else [value])


@dataclass(frozen=True, slots=True)
class ItemFields:
    """What resolution reads of an item; a live Feedback and a stored fact both provide it."""

    source_kind: str
    source: str
    channel: str | None = None
    touchpoint_hint: str | None = None
    tags: Sequence[Any] = ()  # tags kept outside metadata (a ticket's own tags)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def all_tags(self) -> set[str]:
        extra = self.metadata.get("tags")
        return _fold([*self.tags, *(extra if isinstance(extra, list) else ())])


@dataclass(frozen=True, slots=True)
class Resolution:
    touchpoint: str
    stage: JourneyStage
    rule: str  # "explicit", "rule:<name>", "topic:<label>" or "default"


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with its accepted values pre-folded, so matching is set lookups only."""

    rule: Rule
    source_kinds: frozenset[str] | None
    sources: frozenset[str] | None
    channels: frozenset[str] | None
    tags: frozenset[str] | None
    metadata: tuple[tuple[str, frozenset[str]], ...]

    @classmethod
    def of(cls, rule: Rule) -> CompiledRule:
        m = rule.match

        def opt(values: Iterable[Any] | None) -> frozenset[str] | None:
            return None if values is None else frozenset(_fold(values))

        return cls(
            rule=rule,
            source_kinds=opt(m.source_kind),
            sources=opt(m.source),
            channels=opt(m.channel),
            tags=opt(m.tags),
            metadata=tuple((k, frozenset(_fold(v))) for k, v in (m.metadata or {}).items()),
        )

    def matches(self, item: ItemFields, tags: set[str]) -> bool:
        """Every condition the rule gives holds for `item` (`tags`: its folded tags)."""
        if self.source_kinds is not None and item.source_kind not in self.source_kinds:
            return False
        if self.sources is not None and item.source.casefold() not in self.sources:
            return False
        if (
            self.channels is not None
            and (item.channel or "").strip().casefold() not in self.channels
        ):
            return False
        if self.tags is not None and not (self.tags & tags):
            return False
        return all(
            _metadata_values(item.metadata.get(key)) & accepted for key, accepted in self.metadata
        )
