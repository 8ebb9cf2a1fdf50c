"""`GET /v1/journey`: the journey catalog the scores are grouped by, as configured.

The same file the classifier resolves with (`shared.journey`), so a BI tool can show which team
owns a touchpoint and an analyst can see which rule put a fact where (its `touchpoint_rule`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.api.deps import SettingsDep
from services.api.schemas import (
    JourneyDefault,
    JourneyOut,
    JourneyRule,
    JourneyRuleMatch,
    JourneyTouchpoint,
)
from shared.journey import Journey, load_journey

RESOLUTION_ORDER = ["explicit", "rule", "topic", "default"]


def get_journey(request: Request, settings: SettingsDep) -> Journey:
    """The app's catalog: the one its lifespan loaded (`app.state.journey`) if any, else loaded
    once from the configured file, which start-up has already validated (the touchpoint list)."""
    journey: Journey | None = getattr(request.app.state, "journey", None)
    if journey is None:
        journey = request.app.state.journey = load_journey(settings.journey_file)
    return journey


JourneyDep = Annotated[Journey, Depends(get_journey)]


def journey_out(journey: Journey) -> JourneyOut:
    """The catalog as the API documents it: enums as their values, every match field present."""
    d = journey.default_touchpoint
    return JourneyOut(
        version=journey.version,
        resolution_order=RESOLUTION_ORDER,
        stages=[s.value for s in journey.stages],
        touchpoints=[
            JourneyTouchpoint(name=t.name, stage=t.stage.value, team=t.team)
            for t in journey.touchpoints
        ],
        rules=[
            JourneyRule(
                name=r.name,
                touchpoint=r.touchpoint,
                match=JourneyRuleMatch(
                    source_kind=None
                    if r.match.source_kind is None
                    else [k.value for k in r.match.source_kind],
                    source=r.match.source,
                    channel=r.match.channel,
                    tags=r.match.tags,
                    metadata=r.match.metadata,
                ),
            )
            for r in journey.rules
        ],
        topic_touchpoints={k.value: v for k, v in journey.topic_touchpoints.items()},
        default_touchpoint=JourneyDefault(
            overall=d.overall, by_source_kind={k.value: v for k, v in d.by_source_kind.items()}
        ),
    )
