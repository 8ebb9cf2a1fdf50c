"""Which question of a form is NPS, CSAT, CES, stars or the comment: per-form configuration.

Survey tools know questions by id, not by meaning, and titles change and get translated, so the
mapping is configured per form/survey id (`SURVEYS_TYPEFORM_FORMS`, `SURVEYS_SURVEYMONKEY_SURVEYS`,
`SURVEYS_QUALTRICS_SURVEYS`, JSON), never guessed from titles. Example:

    {"lT4Z3j": {"nps": {"field": "nps_ref"},
                "csat": {"field": "sat_ref", "choices": {"Very satisfied": 5, "Satisfied": 4}},
                "comment": "why_ref", "customer_id": "user_id", "touchpoint": "checkout"}}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Customer
from shared.ingest.body import error_entry
from shared.ingest.errors import InvalidPayload

SCORES = ("nps", "csat", "ces", "stars")


class ScoreField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(
        description="The vendor's question: a Typeform field id or ref, a SurveyMonkey "
        "question id, a Qualtrics response value key (QID1)."
    )
    choices: dict[str, int] | None = Field(
        default=None,
        description="Answer → score, keyed by the vendor's choice id, ref or label (or a "
        "Qualtrics recode). Without it the answer must be the number itself.",
    )


class SurveyMapping(BaseModel):
    """One form or survey: where its scores and comment are, and fixed facts about it."""

    model_config = ConfigDict(extra="forbid")

    nps: ScoreField | None = None
    csat: ScoreField | None = None
    ces: ScoreField | None = None
    stars: ScoreField | None = None
    comment: str | None = Field(default=None, description="The free-text question.")
    customer_id: str | None = Field(
        default=None,
        description="Hidden field / custom variable / embedded data holding the customer id.",
    )
    segment: str | None = None
    locale: str | None = None
    touchpoint: str | None = Field(default=None, description="Touchpoint hint for every answer.")
    channel: str | None = None
    survey_type: Literal["relationship", "transactional"] = "transactional"
    audience: Literal["customer", "employee"] = "customer"


@dataclass(frozen=True)
class Answer:
    """One answer as the vendor gave it: a number, a text, and/or choice keys."""

    number: float | None = None
    text: str | None = None
    keys: tuple[str, ...] = ()  # choice id, ref, label... any may be the mapping's key


def _score(name: str, spec: ScoreField, answer: Answer) -> int:
    if spec.choices is not None:
        for key in (*answer.keys, *([_num(answer.number)] if answer.number is not None else [])):
            if key in spec.choices:
                return spec.choices[key]
        raise InvalidPayload(
            [
                error_entry(
                    ["mapped", name],
                    f"the answer to {spec.field!r} ({', '.join(answer.keys) or answer.number}) "
                    "has no score in the mapping's choices",
                    "unmapped_choice",
                )
            ]
        )
    number = answer.number
    if number is None and answer.text is not None:
        try:
            number = float(answer.text.strip())
        except ValueError:
            number = None
    if number is None or not float(number).is_integer():
        raise InvalidPayload(
            [
                error_entry(
                    ["mapped", name],
                    f"the answer to {spec.field!r} is not a whole number; map its choices",
                    "not_a_score",
                )
            ]
        )
    return int(number)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def survey_fields(
    mapping: SurveyMapping,
    answer: Callable[[str], Answer | None],
    context: Callable[[str], Any],
) -> dict[str, Any]:
    """The SurveyResponse fields a mapping yields: scores, comment, customer and fixed facts.

    `answer(field)` looks a question up; `context(name)` a hidden field / custom variable.
    An unanswered question leaves its score out.
    """
    fields: dict[str, Any] = {}
    for name in SCORES:
        spec: ScoreField | None = getattr(mapping, name)
        found = answer(spec.field) if spec is not None else None
        if spec is not None and found is not None:
            fields[name] = _score(name, spec, found)
    if mapping.comment and (said := answer(mapping.comment)) is not None:
        fields["comment"] = said.text

    def ctx(name: str | None) -> str | None:
        value = context(name) if name else None
        return None if value in (None, "") else str(value)

    fields["customer"] = Customer(
        id=ctx(mapping.customer_id), segment=ctx(mapping.segment), locale=ctx(mapping.locale)
    )
    fields.update(
        touchpoint=mapping.touchpoint,
        channel=mapping.channel,
        survey_type=mapping.survey_type,
        audience=mapping.audience,
    )
    return fields


def answered(fields: dict[str, Any]) -> bool:
    """Whether the fields carry anything to score: a respondent may skip every question."""
    comment = fields.get("comment")
    return any(fields.get(n) is not None for n in SCORES) or bool(comment and comment.strip())


def unmapped(loc: list[str | int], what: str, setting: str) -> InvalidPayload:
    """422 for a form/survey nobody configured: rejecting it makes the vendor retry, and the
    delivery succeeds once the mapping is added (ignoring it would lose the answers)."""
    return InvalidPayload(
        [error_entry(loc, f"no score mapping is configured for {what} (set {setting})", "unmapped")]
    )
