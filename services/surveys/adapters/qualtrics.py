"""Qualtrics: event subscriptions post a form-encoded envelope; answers come from the v3 API.

The body is `application/x-www-form-urlencoded` with `Topic` (`<brand>.surveyengine.
completedResponse.<SurveyID>`), `MSG` (JSON: SurveyID, ResponseID, CompletedDate...) and, when
the subscription has a `sharedKey`, `HMAC` = hex HMAC-SHA512(sharedKey, MSG). We accept nothing
unsigned, so subscribe with the `sharedKey` = `VOC_WEBHOOK_SECRET_QUALTRICS`. Completed responses
queue a fetch of `GET /surveys/{SurveyID}/responses/{ResponseID}` (`X-API-TOKEN`); questions map
to scores by value key (`QID1`, `QID2_TEXT`, embedded data) in `SURVEYS_QUALTRICS_SURVEYS`.
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
    FORM_TYPES,
    Delivery,
    FetchRequest,
    Ignored,
    Item,
    PendingFetch,
    UtcDatetime,
    VendorClient,
    WebhookAdapter,
    load_json,
    revision_of,
    validate,
    verify_signature,
)
from shared.ingest.webhooks.fetch import RETRY_STATUSES

COMPLETED = ".surveyengine.completedResponse."


class _Form(BaseModel):
    Topic: str
    MSG: str


class _Message(BaseModel):
    SurveyID: str
    ResponseID: str
    Status: str | None = None
    CompletedDate: UtcDatetime | None = None


class _Response(BaseModel):
    responseId: str
    values: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, Any] = Field(default_factory=dict)


class _Times(BaseModel):
    endDate: UtcDatetime
    recordedDate: UtcDatetime


class _Result(BaseModel):
    result: _Response


class QualtricsAdapter(WebhookAdapter):
    vendor = "qualtrics"
    media_types = FORM_TYPES
    fetches = True

    def __init__(self, surveys: Mapping[str, SurveyMapping]) -> None:
        self.surveys = surveys

    def verify(self, delivery: Delivery, secret: str) -> None:
        form = delivery.form()
        verify_signature(
            form.get("HMAC"),
            secret=secret,
            message=form.get("MSG", "").encode(),
            algorithm="sha512",
            encoding="hex",
        )

    def handshake(self, delivery: Delivery, secret: str) -> dict[str, Any] | None:
        # Qualtrics requires the publication URL to answer GET as well as POST.
        return {"status": "ok"}

    def fetch_headers(self, token: str) -> dict[str, str]:
        return {"X-API-TOKEN": token}

    def parse(self, delivery: Delivery) -> Sequence[Item]:
        form = validate(_Form, delivery.form())
        message = validate(_Message, load_json(form.MSG, ("body", "MSG")), loc=("body", "MSG"))
        if COMPLETED not in f".{form.Topic}":
            return [Ignored("topic is not a completed response")]
        if message.SurveyID not in self.surveys:
            raise unmapped(
                ["body", "MSG", "SurveyID"],
                f"Qualtrics survey {message.SurveyID!r}",
                "SURVEYS_QUALTRICS_SURVEYS",
            )
        completed = message.CompletedDate.isoformat() if message.CompletedDate else ""
        return [
            FetchRequest(
                source_id=message.ResponseID,
                delivery_id=f"{message.ResponseID}@{completed}",
                params={"survey_id": message.SurveyID, "response_id": message.ResponseID},
            )
        ]

    async def fetch(self, client: VendorClient, pending: PendingFetch) -> Sequence[Item]:
        survey_id, response_id = pending.params["survey_id"], pending.params["response_id"]
        doc = await client.get_json(
            f"surveys/{survey_id}/responses/{response_id}",
            # Qualtrics may post the event before the response can be read.
            retry_statuses=RETRY_STATUSES | {404},
        )
        response = validate(_Result, doc, loc=("fetched",)).result
        mapping = self.surveys.get(survey_id)
        if mapping is None:
            raise unmapped(
                ["fetched", "survey_id"],
                f"Qualtrics survey {survey_id!r}",
                "SURVEYS_QUALTRICS_SURVEYS",
            )
        values, labels = response.values, response.labels

        def answer(key: str) -> Answer | None:
            value = values.get(key)
            if value is None or value == "":
                return None
            label = labels.get(key)
            keys = tuple(str(k) for k in (value, label) if k not in (None, ""))
            if isinstance(value, int | float) and not isinstance(value, bool):
                return Answer(number=float(value), keys=keys)
            return Answer(text=str(value), keys=keys)

        fields = survey_fields(mapping, answer, values.get)
        if not answered(fields):
            return [Ignored("no mapped question answered")]
        times = validate(_Times, values, loc=("fetched", "result", "values"))
        return [
            SurveyResponse(
                source=self.vendor,
                source_id=pending.source_id,
                occurred_at=times.endDate,
                revision=revision_of(times.recordedDate),
                metadata={
                    # The journey catalog's rules route by metadata.form_id.
                    "form_id": survey_id,
                    "raw": {"webhook": pending.envelope, "fetched": doc},
                },
                **fields,
            )
        ]
