"""Delighted: `survey_response.created` (the score), then `.updated` (usually the comment).

Delighted does not sign webhooks, so the URL carries a token: `Authorization: Bearer <token>` or
Basic auth whose password is the token (`https://voc:<token>@host/v1/webhooks/delighted`).
`updated_at` is the revision, so the update replaces the created version in the scores rather
than adding a second answer; a re-delivery (same `updated_at`) gets the same event id.
The survey type decides the score: nps/enps → nps (enps as employee), csat and smileys → csat,
ces → ces, five_star → stars; others (thumbs, pmf) keep only their comment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from services.surveys.models import SurveyResponse
from shared.events import Customer
from shared.ingest.webhooks import (
    Delivery,
    Ignored,
    Item,
    UtcDatetime,
    WebhookAdapter,
    revision_of,
    validate,
    verify_token,
)

Id = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)]
SCORE_OF = {
    "nps": "nps",
    "enps": "nps",
    "csat": "csat",
    "smileys": "csat",
    "ces": "ces",
    "five_star": "stars",
}


class _Person(BaseModel):
    id: Id | None = None


class _Response(BaseModel):
    id: Id
    person: _Person | None = None
    survey_type: str | None = None
    score: int | None = None
    comment: str | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime | None = None
    tags: list[str] = Field(default_factory=list)


class _Event(BaseModel):
    event_type: str
    event_id: str | None = None
    event_data: dict[str, Any] | None = None


class DelightedAdapter(WebhookAdapter):
    vendor = "delighted"

    def __init__(
        self,
        *,
        default_survey_type: str = "nps",
        survey_type: Literal["relationship", "transactional"] = "relationship",
    ) -> None:
        self.default_survey_type = default_survey_type  # payloads from before survey types
        self.survey_type = survey_type

    def verify(self, delivery: Delivery, secret: str) -> None:
        verify_token(delivery.headers, secret)

    def parse(self, delivery: Delivery) -> Sequence[Item]:
        event = validate(_Event, delivery.json())
        if not event.event_type.startswith("survey_response."):
            return [Ignored(f"event_type {event.event_type}")]
        if event.event_data is None:
            return [Ignored("no event_data")]
        response = validate(_Response, event.event_data, loc=("body", "event_data"))
        kind = response.survey_type or self.default_survey_type
        score_field = SCORE_OF.get(kind)
        scores: dict[str, Any] = {}
        if score_field and response.score is not None:
            scores[score_field] = response.score
        comment = response.comment if response.comment and response.comment.strip() else None
        if not scores and comment is None:
            return [Ignored(f"{kind} response without a score we use or a comment")]
        person = response.person.id if response.person else None
        return [
            SurveyResponse(
                source=self.vendor,
                source_id=response.id,
                occurred_at=response.created_at,
                revision=revision_of(response.updated_at or response.created_at),
                customer=Customer(id=person),
                survey_type=self.survey_type,
                audience="employee" if kind == "enps" else "customer",
                comment=comment,
                # Touchpoint rules match on metadata tags whatever the source kind.
                metadata={
                    "tags": response.tags,
                    "survey_type": kind,
                    "vendor_event_id": event.event_id,
                },
                **scores,
            )
        ]
