"""Touchpoint resolution: explicit -> mapping rules -> classified topic -> default.

The catalog (shared.journey) is data; the order and the matching semantics live here. The
returned `rule` records what decided, so an analyst can tell a source's own claim from our guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from shared.events import Feedback, JourneyStage
from shared.journey import Journey, Rule

_SEPARATORS = re.compile(r"[\s\-./]+")


@dataclass(frozen=True, slots=True)
class Resolution:
    touchpoint: str
    stage: JourneyStage
    rule: str  # "explicit", "rule:<name>", "topic:<label>" or "default"


def normalise(value: str) -> str:
    """Catalog-name form of a free-text label: 'Mobile App' -> 'mobile_app'."""
    return _SEPARATORS.sub("_", value.strip().casefold()).strip("_")


def _fold(values: Iterable[Any]) -> set[str]:
    return {str(v).strip().casefold() for v in values}


def _item_tags(feedback: Feedback) -> set[str]:
    tags: list[Any] = list(feedback.ticket.tags) if feedback.ticket else []
    extra = feedback.metadata.get("tags")
    if isinstance(extra, list):
        tags.extend(extra)
    return _fold(tags)


def _metadata_values(value: Any) -> set[str]:
    if value is None or isinstance(value, dict):
        return set()
    return _fold(value if isinstance(value, list) else [value])


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    """A rule with its accepted values pre-folded, so matching is set lookups only."""

    rule: Rule
    source_kinds: frozenset[str] | None
    sources: frozenset[str] | None
    channels: frozenset[str] | None
    tags: frozenset[str] | None
    metadata: tuple[tuple[str, frozenset[str]], ...]

    @classmethod
    def of(cls, rule: Rule) -> _CompiledRule:
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

    def matches(self, fb: Feedback, tags: set[str]) -> bool:
        if self.source_kinds is not None and fb.source_kind.value not in self.source_kinds:
            return False
        if self.sources is not None and fb.source.casefold() not in self.sources:
            return False
        if self.channels is not None and (fb.channel or "").strip().casefold() not in self.channels:
            return False
        if self.tags is not None and not (self.tags & tags):
            return False
        return all(
            _metadata_values(fb.metadata.get(key)) & accepted for key, accepted in self.metadata
        )


class TouchpointResolver:
    """Resolves feedback items against one journey catalog."""

    def __init__(self, journey: Journey) -> None:
        self.journey = journey
        self._rules = [_CompiledRule.of(r) for r in journey.rules]
        self._by_topic = {k.value: v for k, v in journey.topic_touchpoints.items()}

    def _decided(self, touchpoint: str, rule: str) -> Resolution:
        return Resolution(touchpoint, self.journey.stage_of(touchpoint), rule)

    def resolve(self, feedback: Feedback, topics: Sequence[str] = ()) -> Resolution:
        """The touchpoint for `feedback`, given its classified topics (primary first)."""
        if feedback.touchpoint:
            # A hint the catalog does not know (a typo, another company's naming) falls through
            # rather than creating an unowned touchpoint in the scores.
            explicit = normalise(feedback.touchpoint)
            if explicit in self.journey:
                return self._decided(explicit, "explicit")
        tags = _item_tags(feedback)
        for compiled in self._rules:
            if compiled.matches(feedback, tags):
                return self._decided(compiled.rule.touchpoint, f"rule:{compiled.rule.name}")
        for label in topics:
            if label in self._by_topic:
                return self._decided(self._by_topic[label], f"topic:{label}")
        return self._decided(self.journey.default_for(feedback.source_kind), "default")
