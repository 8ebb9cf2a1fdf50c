"""The journey catalog: touchpoints, their journey stages and owners, and the mapping tables.

The catalog is data (`shared/journey.yaml`, or the file `VOC_JOURNEY_FILE` names), validated in
full at start-up so a typo fails the service before it consumes anything. What the catalog means
for one item (`Journey.resolve`) lives here too, because two services apply it: the classifier to
new items, and the metrics service's remap to stored facts after the rules change. Both must
reach the same answer from the same fields, or a remap would move scores the classifier disagrees
with. The catalog's entries are in journey_catalog.py, an item's fields and rule matching in
journey_match.py; their public names are importable from here.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BeforeValidator, Field, PrivateAttr, ValidationError, model_validator

from shared.events import JourneyStage, SourceKind, Topic
from shared.journey_catalog import (
    DefaultTouchpoint,
    Frozen,
    Name,
    Rule,
    RuleMatch,
    Touchpoint,
    default_shorthand,
)
from shared.journey_match import CompiledRule, ItemFields, Resolution, normalise

__all__ = [
    "JOURNEY_FILE_ENV",
    "SUPPORTED_VERSIONS",
    "DefaultTouchpoint",
    "ItemFields",
    "Journey",
    "JourneyError",
    "Resolution",
    "Rule",
    "RuleMatch",
    "Touchpoint",
    "load_journey",
    "normalise",
    "parse_journey",
]

JOURNEY_FILE_ENV = "VOC_JOURNEY_FILE"
SUPPORTED_VERSIONS = (1,)


class JourneyError(ValueError):
    """The catalog cannot be read or is inconsistent; the message lists every problem."""


class Journey(Frozen):
    """The validated catalog."""

    version: Literal[1]
    stages: list[JourneyStage] = Field(default_factory=lambda: list(JourneyStage), min_length=1)
    touchpoints: list[Touchpoint] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list)
    topic_touchpoints: dict[Topic, Name] = Field(default_factory=dict)
    default_touchpoint: Annotated[DefaultTouchpoint, BeforeValidator(default_shorthand)]

    _by_name: dict[str, Touchpoint] = PrivateAttr(default_factory=dict)
    _compiled: tuple[CompiledRule, ...] = PrivateAttr(default=())
    _by_topic: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Journey:
        problems = [
            *_duplicates("stage", self.stages),
            *_duplicates("touchpoint", (t.name for t in self.touchpoints)),
            *_duplicates("rule", (r.name for r in self.rules)),
        ]
        stages = set(self.stages)
        for tp in self.touchpoints:
            if tp.stage not in stages:
                problems.append(
                    f"touchpoint {tp.name!r} has stage {tp.stage.value!r}, "
                    f"which is not in stages {[s.value for s in self.stages]}"
                )
        known = {t.name for t in self.touchpoints}
        refs = [(f"rule {r.name!r}", r.touchpoint) for r in self.rules]
        refs += [(f"topic_touchpoints[{k.value}]", v) for k, v in self.topic_touchpoints.items()]
        refs.append(("default_touchpoint.overall", self.default_touchpoint.overall))
        refs += [
            (f"default_touchpoint.by_source_kind[{k.value}]", v)
            for k, v in self.default_touchpoint.by_source_kind.items()
        ]
        problems += [
            f"{where} points at unknown touchpoint {name!r}"
            for where, name in refs
            if name not in known
        ]
        if problems:
            raise ValueError("; ".join(problems))
        self._by_name = {t.name: t for t in self.touchpoints}
        self._compiled = tuple(CompiledRule.of(r) for r in self.rules)
        self._by_topic = {k.value: v for k, v in self.topic_touchpoints.items()}
        return self

    def get(self, name: str) -> Touchpoint | None:
        """The touchpoint called `name`, or None if the catalog has none."""
        return self._by_name.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def stage_of(self, touchpoint: str) -> JourneyStage:
        """The journey stage of a catalog touchpoint; KeyError for an unknown one."""
        try:
            return self._by_name[touchpoint].stage
        except KeyError:
            raise KeyError(f"unknown touchpoint {touchpoint!r}") from None

    def team_of(self, touchpoint: str) -> str:
        try:
            return self._by_name[touchpoint].team
        except KeyError:
            raise KeyError(f"unknown touchpoint {touchpoint!r}") from None

    def default_for(self, kind: SourceKind | str) -> str:
        """The fallback touchpoint for an item of this source kind."""
        d = self.default_touchpoint
        return d.by_source_kind.get(SourceKind(kind), d.overall)

    def resolve(self, item: ItemFields, topics: Sequence[str] = ()) -> Resolution:
        """The touchpoint of `item` and what decided it, given its topics (primary first).

        Order: the source's own touchpoint if the catalog knows it -> the first matching rule in
        file order -> the first mapped topic -> the default for the item's source kind.
        """
        if item.touchpoint_hint:
            # A hint the catalog does not know (a typo, another company's naming) falls through
            # rather than creating an unowned touchpoint in the scores.
            explicit = normalise(item.touchpoint_hint)
            if explicit in self._by_name:
                return self._decided(explicit, "explicit")
        tags = item.all_tags()
        for compiled in self._compiled:
            if compiled.matches(item, tags):
                return self._decided(compiled.rule.touchpoint, f"rule:{compiled.rule.name}")
        for label in topics:
            if (touchpoint := self._by_topic.get(label)) is not None:
                return self._decided(touchpoint, f"topic:{label}")
        return self._decided(self.default_for(item.source_kind), "default")

    def _decided(self, touchpoint: str, rule: str) -> Resolution:
        return Resolution(touchpoint, self.stage_of(touchpoint), rule)


def _duplicates(what: str, names: Iterable[str]) -> list[str]:
    counts = Counter(names)
    return [f"duplicate {what} {name!r}" for name, n in counts.items() if n > 1]


def _default_path() -> Path | Traversable:
    env = os.environ.get(JOURNEY_FILE_ENV)
    if env:
        return Path(env)
    return resources.files("shared").joinpath("journey.yaml")


def parse_journey(text: str, *, origin: str = "<string>") -> Journey:
    """Validate catalog YAML; raises JourneyError naming every problem found."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise JourneyError(f"journey catalog {origin} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise JourneyError(f"journey catalog {origin} must be a mapping at the top level")
    version = raw.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise JourneyError(
            f"journey catalog {origin} has version {version!r}; supported: {SUPPORTED_VERSIONS}"
        )
    try:
        return Journey.model_validate(raw)
    except ValidationError as exc:
        lines = [
            f"  - {'.'.join(map(str, e['loc'])) or '(top level)'}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise JourneyError(f"journey catalog {origin} is invalid:\n" + "\n".join(lines)) from exc


def load_journey(path: Path | None = None) -> Journey:
    """Load and validate the catalog from `path`, else `$VOC_JOURNEY_FILE`, else the packaged one.

    Raises JourneyError (a ValueError) with every problem listed: unknown stages, rules or
    defaults pointing at unknown touchpoints, duplicate names, malformed YAML, a missing file.
    """
    source: Path | Traversable = path if path is not None else _default_path()
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise JourneyError(f"cannot read journey catalog {source}: {exc.strerror}") from exc
    return parse_journey(text, origin=str(source))
