"""The pieces of the journey catalog file: touchpoints, mapping rules and defaults.

Each model checks one entry on its own; whether the entries agree with each other (a rule
pointing at a touchpoint the catalog has) is `Journey`'s check in shared/journey.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from shared.events import JourneyStage, SourceKind


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# A single value or a list of alternatives (any-of) in a rule's match.
AnyOf = Annotated[list[str], BeforeValidator(_as_list), Field(min_length=1)]
Name = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[a-z0-9_]+$")]


class Frozen(BaseModel):
    """A catalog entry: a typo in a key fails validation rather than being ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Touchpoint(Frozen):
    name: Name
    stage: JourneyStage
    team: Annotated[str, Field(min_length=1)]


class RuleMatch(Frozen):
    """Conditions on source metadata; every field given must match (AND)."""

    source_kind: Annotated[list[SourceKind], BeforeValidator(_as_list)] | None = None
    source: AnyOf | None = None
    channel: AnyOf | None = None
    tags: AnyOf | None = Field(default=None, description="The item has any of these tags.")
    metadata: dict[str, AnyOf] | None = Field(
        default=None, description="Metadata key -> accepted values, compared as text."
    )

    @model_validator(mode="after")
    def _not_empty(self) -> RuleMatch:
        if not any(v for v in self.__dict__.values()):
            raise ValueError("a rule must match on at least one field")
        return self


class Rule(Frozen):
    name: Name
    match: RuleMatch
    touchpoint: Name


class DefaultTouchpoint(Frozen):
    overall: Name
    by_source_kind: dict[SourceKind, Name] = Field(default_factory=dict)


def default_shorthand(value: Any) -> Any:
    """`default_touchpoint: website` is short for `{overall: website}`."""
    return {"overall": value} if isinstance(value, str) else value
