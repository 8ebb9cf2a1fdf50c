"""Qualtrics adapter: form-encoded Topic/MSG/HMAC (published sample), fetch by X-API-TOKEN."""

from __future__ import annotations

import urllib.parse
from typing import Any

import httpx
import pytest

from services.surveys.adapters.qualtrics import QualtricsAdapter
from services.surveys.models import SurveyResponse
from shared.ingest.errors import InvalidPayload
from shared.ingest.webhooks import AuthFailure, FetchRequest, Ignored
from tests.unit.ingest.webhooks import vendors
from tests.unit.ingest.webhooks.support import client, delivery, first_loc, pending

SECRET = vendors.SECRETS["qualtrics"]
PUBLISHED = vendors.qualtrics_form(
    vendors.QUALTRICS_PUBLISHED_MSG, hmac_value=vendors.QUALTRICS_PUBLISHED_HMAC
)


def _adapter() -> QualtricsAdapter:
    return QualtricsAdapter(vendors.QX_SURVEYS)


def _parse(body: bytes) -> list[Any]:
    return list(_adapter().parse(delivery("qualtrics", body, vendors.QUALTRICS_FORM_HEADERS)))


class TestQualtricsAdapter:
    def test_published_delivery_verifies(self) -> None:
        _adapter().verify(delivery("qualtrics", PUBLISHED, {}), SECRET)

    def test_published_delivery_with_an_edited_msg_fails(self) -> None:
        msg = vendors.QUALTRICS_PUBLISHED_MSG.replace("R_0B7", "R_9B7")
        body = vendors.qualtrics_form(msg, hmac_value=vendors.QUALTRICS_PUBLISHED_HMAC)
        with pytest.raises(AuthFailure) as exc:
            _adapter().verify(delivery("qualtrics", body, {}), SECRET)
        assert exc.value.reason == "bad_signature"

    def test_unsigned_delivery_is_refused(self) -> None:
        body = urllib.parse.urlencode({"Topic": "x", "MSG": "{}"}).encode()
        with pytest.raises(AuthFailure) as exc:
            _adapter().verify(delivery("qualtrics", body, {}), SECRET)
        assert exc.value.reason == "missing_signature"

    def test_completed_response_queues_a_fetch(self) -> None:
        [item] = _parse(PUBLISHED)
        assert item == FetchRequest(
            source_id="R_0B7IcnXszjEUHLP",
            delivery_id="R_0B7IcnXszjEUHLP@2019-06-25T07:58:25+00:00",
            params={"survey_id": vendors.QX_SURVEY, "response_id": "R_0B7IcnXszjEUHLP"},
        )

    def test_other_topics_are_ignored(self) -> None:
        body = vendors.qualtrics_form(
            vendors.qualtrics_msg("R_1"), topic="brand.surveyengine.partialResponse.SV_1"
        )
        [item] = _parse(body)
        assert isinstance(item, Ignored)

    def test_msg_without_response_id_is_named(self) -> None:
        body = vendors.qualtrics_form('{"SurveyID": "SV_1AmkKSDmoZ4XlQx"}')
        with pytest.raises(InvalidPayload) as exc:
            _parse(body)
        assert first_loc(exc.value) == ["body", "MSG", "ResponseID"]

    def test_msg_that_is_not_json_is_named(self) -> None:
        with pytest.raises(InvalidPayload) as exc:
            _parse(vendors.qualtrics_form("{not json"))
        assert first_loc(exc.value) == ["body", "MSG"]

    async def test_fetched_values_map_to_scores_comment_and_customer(self) -> None:
        seen: list[httpx.Request] = []

        def respond(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json=vendors.qualtrics_response("R_0B7IcnXszjEUHLP"))

        [request] = _parse(PUBLISHED)
        api = client("qualtrics", respond, headers=_adapter().fetch_headers("qx-token"))
        [item] = await _adapter().fetch(api, pending("qualtrics", request))
        await api.aclose()
        assert seen[0].headers["x-api-token"] == "qx-token"
        assert seen[0].url.path == f"/v3/surveys/{vendors.QX_SURVEY}/responses/R_0B7IcnXszjEUHLP"
        assert isinstance(item, SurveyResponse)
        assert (item.nps, item.csat, item.comment) == (8, 4, "The agent was patient and fixed it.")
        assert item.revision == "2019-06-25T07:58:25.683000+00:00"
        assert (item.customer.id if item.customer else None, item.touchpoint) == (
            "c-7",
            "customer_support",
        )
