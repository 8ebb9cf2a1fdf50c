"""SurveyMonkey adapter: HMAC-SHA1 envelope, fetch of the details, choices mapped to scores."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.surveys.adapters.surveymonkey import SurveyMonkeyAdapter
from services.surveys.models import SurveyResponse
from shared.ingest.errors import InvalidPayload
from shared.ingest.webhooks import AuthFailure, Deletion, FetchRequest, Ignored
from tests.unit.ingest.webhooks import vendors
from tests.unit.ingest.webhooks.support import client, delivery, first_loc, pending

SECRET = vendors.SECRETS["surveymonkey"]


def _adapter() -> SurveyMonkeyAdapter:
    return SurveyMonkeyAdapter(vendors.SM_SURVEYS)


def _parse(payload: dict[str, Any]) -> list[Any]:
    return list(_adapter().parse(delivery("surveymonkey", vendors.dumps(payload), {})))


async def _fetch(details: dict[str, Any] | None, status: int = 200) -> tuple[list[Any], list[str]]:
    paths: list[str] = []

    def respond(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        assert request.headers["authorization"] == "Bearer sm-token"
        return httpx.Response(status, json=details)

    [request] = _parse(vendors.surveymonkey_event())
    api = client("surveymonkey", respond, headers=_adapter().fetch_headers("sm-token"))
    try:
        items = list(await _adapter().fetch(api, pending("surveymonkey", request)))
    finally:
        await api.aclose()
    return items, paths


class TestSurveyMonkeyAdapter:
    def test_sm_signature_with_api_key_and_secret_verifies(self) -> None:
        body = vendors.dumps(vendors.surveymonkey_event())
        _adapter().verify(
            delivery("surveymonkey", body, vendors.surveymonkey_headers(body)), SECRET
        )

    def test_signature_with_the_api_secret_alone_fails(self) -> None:
        body = vendors.dumps(vendors.surveymonkey_event())
        headers = vendors.surveymonkey_headers(body, secret="sm-api-secret")
        with pytest.raises(AuthFailure) as exc:
            _adapter().verify(delivery("surveymonkey", body, headers), SECRET)
        assert exc.value.reason == "bad_signature"

    def test_completed_response_queues_a_fetch(self) -> None:
        [item] = _parse(vendors.surveymonkey_event("777"))
        assert item == FetchRequest(
            source_id="777",
            delivery_id="10000001",
            params={"survey_id": vendors.SM_SURVEY, "response_id": "777"},
        )

    @pytest.mark.parametrize("event_type", ["response_deleted", "response_disqualified"])
    def test_deleted_or_disqualified_response_is_a_tombstone(self, event_type: str) -> None:
        [item] = _parse(vendors.surveymonkey_event("777", event_type=event_type))
        assert isinstance(item, Deletion)
        assert (item.source_id, item.revision) == ("777", "2016-01-01T21:56:31.182613+00:00")

    def test_created_response_is_ignored(self) -> None:
        [item] = _parse(vendors.surveymonkey_event(event_type="response_created"))
        assert isinstance(item, Ignored)

    def test_unconfigured_survey_is_rejected_naming_survey_id(self) -> None:
        with pytest.raises(InvalidPayload) as exc:
            _parse(vendors.surveymonkey_event(survey_id="999"))
        assert first_loc(exc.value) == ["body", "resources", "survey_id"]

    async def test_fetched_details_map_choice_to_score_and_keep_both_payloads(self) -> None:
        details = vendors.surveymonkey_details(nps=6, comment="Too slow.")
        [item], paths = await _fetch(details)
        assert paths == [f"/v3/surveys/{vendors.SM_SURVEY}/responses/123456/details"]
        assert isinstance(item, SurveyResponse)
        assert (item.nps, item.comment, item.survey_type) == (6, "Too slow.", "relationship")
        assert item.revision == "2016-01-01T21:56:31+00:00"
        assert item.customer is not None and item.customer.id == "c-42"
        assert item.metadata["raw"]["fetched"] == details
        assert item.metadata["raw"]["webhook"] == {}

    async def test_partial_response_is_ignored(self) -> None:
        [item], _ = await _fetch(vendors.surveymonkey_details(status="partial"))
        assert isinstance(item, Ignored)

    async def test_details_without_response_status_are_invalid(self) -> None:
        details = vendors.surveymonkey_details()
        del details["response_status"]
        with pytest.raises(InvalidPayload) as exc:
            await _fetch(details)
        assert first_loc(exc.value) == ["fetched", "response_status"]
