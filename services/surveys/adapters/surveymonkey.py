"""SurveyMonkey: response webhooks are envelopes; the answers come from the v3 API.

Signed with `Sm-Signature` = base64 HMAC-SHA1 keyed with `api_key&api_secret` (the whole string
is `VOC_WEBHOOK_SECRET_SURVEYMONKEY`). `response_completed` / `response_updated` queue a fetch of
`GET /surveys/{survey_id}/responses/{id}/details` (Bearer token); its `date_modified` is the
revision, so an edited response replaces the earlier one. `response_deleted` and
`response_disqualified` remove the response from the scores. Choices map to scores by choice id
in `SURVEYS_SURVEYMONKEY_SURVEYS`.
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
    Deletion,
    Delivery,
    FetchRequest,
    Ignored,
    Item,
    PendingFetch,
    UtcDatetime,
    VendorClient,
    WebhookAdapter,
    revision_of,
    validate,
    verify_signature,
)
from shared.ingest.webhooks.fetch import RETRY_STATUSES

FETCHED = ("response_completed", "response_updated")
REMOVED = ("response_deleted", "response_disqualified")


class _Resources(BaseModel):
    survey_id: str
    collector_id: str | None = None
    respondent_id: str | None = None


class _Event(BaseModel):
    event_id: str
    event_type: str
    object_type: str
    object_id: str
    event_datetime: UtcDatetime
    resources: _Resources


class _Answer(BaseModel):
    choice_id: str | None = None
    row_id: str | None = None
    other_id: str | None = None
    text: str | None = None


class _Question(BaseModel):
    id: str
    answers: list[_Answer] = Field(default_factory=list)


class _Page(BaseModel):
    id: str
    questions: list[_Question] = Field(default_factory=list)


class _Details(BaseModel):
    id: str
    survey_id: str
    collector_id: str | None = None
    response_status: str
    date_created: UtcDatetime
    date_modified: UtcDatetime
    custom_variables: dict[str, Any] = Field(default_factory=dict)
    pages: list[_Page] = Field(default_factory=list)


def _answer(question: _Question) -> Answer | None:
    if not question.answers:
        return None
    texts = [a.text for a in question.answers if a.text]
    keys = tuple(a.choice_id for a in question.answers if a.choice_id)
    return Answer(text="\n".join(texts) if texts else None, keys=keys)


class SurveyMonkeyAdapter(WebhookAdapter):
    vendor = "surveymonkey"
    fetches = True
    default_base_url = "https://api.surveymonkey.com/v3"

    def __init__(self, surveys: Mapping[str, SurveyMapping]) -> None:
        self.surveys = surveys

    def verify(self, delivery: Delivery, secret: str) -> None:
        verify_signature(
            delivery.headers.get("sm-signature"),
            secret=secret,
            message=delivery.body,
            algorithm="sha1",
            encoding="base64",
        )

    def handshake(self, delivery: Delivery, secret: str) -> dict[str, Any] | None:
        # SurveyMonkey checks the subscription URL with a HEAD request when the webhook is made.
        return {}

    def parse(self, delivery: Delivery) -> Sequence[Item]:
        event = validate(_Event, delivery.json())
        if event.object_type != "response":
            return [Ignored(f"object_type {event.object_type}")]
        if event.event_type in REMOVED:
            return [
                Deletion(
                    source_id=event.object_id,
                    revision=revision_of(event.event_datetime),
                    occurred_at=event.event_datetime,
                )
            ]
        if event.event_type not in FETCHED:
            return [Ignored(f"event_type {event.event_type}")]
        survey_id = event.resources.survey_id
        if survey_id not in self.surveys:
            raise unmapped(
                ["body", "resources", "survey_id"],
                f"SurveyMonkey survey {survey_id!r}",
                "SURVEYS_SURVEYMONKEY_SURVEYS",
            )
        return [
            FetchRequest(
                source_id=event.object_id,
                delivery_id=event.event_id,
                params={"survey_id": survey_id, "response_id": event.object_id},
            )
        ]

    async def fetch(self, client: VendorClient, pending: PendingFetch) -> Sequence[Item]:
        survey_id, response_id = pending.params["survey_id"], pending.params["response_id"]
        doc = await client.get_json(
            f"surveys/{survey_id}/responses/{response_id}/details",
            # A response may not be readable the instant its webhook fires.
            retry_statuses=RETRY_STATUSES | {404},
        )
        details = validate(_Details, doc, loc=("fetched",))
        if details.response_status != "completed":
            return [Ignored(f"response_status {details.response_status}")]
        mapping = self.surveys.get(details.survey_id)
        if mapping is None:
            raise unmapped(
                ["fetched", "survey_id"],
                f"SurveyMonkey survey {details.survey_id!r}",
                "SURVEYS_SURVEYMONKEY_SURVEYS",
            )
        questions = {q.id: q for page in details.pages for q in page.questions}

        def answer(question_id: str) -> Answer | None:
            question = questions.get(question_id)
            return _answer(question) if question is not None else None

        fields = survey_fields(mapping, answer, details.custom_variables.get)
        if not answered(fields):
            return [Ignored("no mapped question answered")]
        return [
            SurveyResponse(
                source=self.vendor,
                source_id=pending.source_id,
                occurred_at=details.date_created,
                revision=revision_of(details.date_modified),
                metadata={
                    # The journey catalog's rules route by metadata.form_id.
                    "form_id": details.survey_id,
                    "collector_id": details.collector_id,
                    "raw": {"webhook": pending.envelope, "fetched": doc},
                },
                **fields,
            )
        ]
