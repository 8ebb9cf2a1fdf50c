"""Typeform: `form_response` webhooks, one submitted response each.

Signed with `Typeform-Signature: sha256=` + base64 HMAC-SHA256(secret, body). Which answer is
NPS/CSAT/CES/stars/comment comes from `SURVEYS_TYPEFORM_FORMS` by field id or ref; hidden fields
carry the respondent's context. A response never changes once submitted, so `submitted_at` is
its revision and a re-delivery (same token) gets the same event id. `form_response_partial`
(partial responses, an opt-in) is ignored: only submitted answers are scored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from services.surveys.adapters.scores import (
    Answer,
    SurveyMapping,
    answered,
    survey_fields,
    unmapped,
)
from services.surveys.models import SurveyResponse
from shared.ingest.webhooks import (
    Delivery,
    Ignored,
    Item,
    UtcDatetime,
    WebhookAdapter,
    revision_of,
    validate,
    verify_signature,
)


class _Field(BaseModel):
    id: str
    ref: str | None = None
    type: str | None = None


class _Choice(BaseModel):
    id: str | None = None
    ref: str | None = None
    label: str | None = None
    other: str | None = None


class _Choices(BaseModel):
    ids: list[str] = Field(default_factory=list)
    refs: list[str] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)
    other: str | None = None


class _Answer(BaseModel):
    type: str
    field: _Field
    number: float | None = None
    text: str | None = None
    boolean: bool | None = None
    choice: _Choice | None = None
    choices: _Choices | None = None


class _FormResponse(BaseModel):
    form_id: str
    token: str
    submitted_at: UtcDatetime
    hidden: dict[str, Any] = Field(default_factory=dict)
    answers: list[_Answer] = Field(default_factory=list)


class _Delivery(BaseModel):
    event_id: str
    event_type: str
    form_response: _FormResponse


def _answer(a: _Answer) -> Answer:
    if a.choice is not None:
        c = a.choice
        keys = tuple(k for k in (c.id, c.ref, c.label, c.other) if k)
        return Answer(text=c.label or c.other, keys=keys)
    if a.choices is not None:
        c2 = a.choices
        labels = [*c2.labels, *([c2.other] if c2.other else [])]
        return Answer(text=", ".join(labels), keys=(*c2.ids, *c2.refs, *labels))
    if a.boolean is not None:
        return Answer(keys=("true" if a.boolean else "false",))
    return Answer(number=a.number, text=a.text)


class TypeformAdapter(WebhookAdapter):
    vendor = "typeform"

    def __init__(self, forms: Mapping[str, SurveyMapping]) -> None:
        self.forms = forms

    def verify(self, delivery: Delivery, secret: str) -> None:
        verify_signature(
            delivery.headers.get("typeform-signature"),
            secret=secret,
            message=delivery.body,
            algorithm="sha256",
            encoding="base64",
            prefix="sha256=",
        )

    def parse(self, delivery: Delivery) -> Sequence[Item]:
        payload = validate(_Delivery, delivery.json())
        if payload.event_type != "form_response":
            return [Ignored(f"event_type {payload.event_type}")]
        response = payload.form_response
        mapping = self.forms.get(response.form_id)
        if mapping is None:
            raise unmapped(
                ["body", "form_response", "form_id"],
                f"Typeform form {response.form_id!r}",
                "SURVEYS_TYPEFORM_FORMS",
            )
        answers: dict[str, Answer] = {}
        for a in response.answers:
            answers[a.field.id] = _answer(a)
            if a.field.ref:
                answers.setdefault(a.field.ref, answers[a.field.id])
        fields = survey_fields(mapping, answers.get, response.hidden.get)
        if not answered(fields):
            return [Ignored("no mapped question answered")]
        return [
            SurveyResponse(
                source=self.vendor,
                source_id=response.token,
                occurred_at=response.submitted_at,
                revision=revision_of(response.submitted_at),
                metadata={"form_id": response.form_id, "vendor_event_id": payload.event_id},
                **fields,
            )
        ]
