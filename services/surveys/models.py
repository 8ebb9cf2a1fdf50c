"""The canonical survey response accepted by `POST /v1/responses`."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from shared.ingest import IngestItem


class SurveyResponse(IngestItem):
    """One survey answer: any of NPS, CSAT, CES and stars, and/or a comment."""

    survey_type: Literal["relationship", "transactional"] = "transactional"
    audience: Literal["customer", "employee"] = Field(
        default="customer", description="'employee' answers count towards eNPS."
    )
    nps: Annotated[int, Field(ge=0, le=10)] | None = None
    csat: Annotated[int, Field(ge=1, le=5)] | None = None
    ces: Annotated[int, Field(ge=1, le=7, description="Higher is easier.")] | None = None
    stars: Annotated[int, Field(ge=1, le=5)] | None = None
    comment: Annotated[str, Field(max_length=20_000)] | None = None

    @model_validator(mode="after")
    def _has_an_answer(self) -> Self:
        scores = (self.nps, self.csat, self.ces, self.stars)
        if all(s is None for s in scores) and not (self.comment and self.comment.strip()):
            raise ValueError("a response needs at least one of nps, csat, ces, stars or comment")
        return self
