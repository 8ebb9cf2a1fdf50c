"""Vendor payloads shaped like each vendor's documentation, and how each vendor signs them.

Shapes follow the vendors' published examples: Typeform's "Example webhook payload", the
SurveyMonkey v3 webhook callback and response-details bodies, Qualtrics' form-encoded event
(Topic/MSG/HMAC) and single-response body, and Delighted's webhook example. Ids are the docs'
where they give one; answers and mappings are ours.
"""

from __future__ import annotations

import base64
import urllib.parse
from typing import Any

import orjson

from services.surveys.adapters.scores import SurveyMapping
from shared.ingest.webhooks import sign

TYPEFORM_FORM = "lT4Z3j"
SM_SURVEY = "123456789"
QX_SURVEY = "SV_1AmkKSDmoZ4XlQx"
SECRETS = {
    "typeform": "tf-secret-7d1c",
    "surveymonkey": "sm-api-key&sm-api-secret",  # the HMAC key is api_key&api_secret
    "qualtrics": "kyma4ever",  # the sharedKey of the published Qualtrics sample below
    "delighted": "dl-token-91f2",
}

# A real Qualtrics delivery's MSG and HMAC (sharedKey "kyma4ever"), published in the tests of
# kyma-incubator/connector-tools (qualtrics-event-gw/pkg/hmac/hmac_test.go).
QUALTRICS_PUBLISHED_MSG = (
    '{"Status":"Complete","SurveyID":"SV_1AmkKSDmoZ4XlQx","ResponseID":"R_0B7IcnXszjEUHLP",'
    '"CompletedDate":"2019-06-25 07:58:25","BrandID":"sapdevelopment"}'
)
QUALTRICS_PUBLISHED_HMAC = (
    "c2c585a404c239aa3063b462cc33551d3ed3ed2de0899f58d456fc0ef7ebef6f"
    "3c3af44957989bd0592603e41edde9528f7d9ed09ee128bf719aa12f46e5c598"
)

TYPEFORM_FORMS = {
    TYPEFORM_FORM: SurveyMapping.model_validate(
        {
            "nps": {"field": "nps_ref"},
            "csat": {
                "field": "csat_ref",
                "choices": {"Very satisfied": 5, "Satisfied": 4, "Unsatisfied": 2},
            },
            "ces": {"field": "Ces7Field01"},
            "comment": "readable_ref_long_text",
            "customer_id": "user_id",
            "segment": "plan",
            "touchpoint": "checkout",
        }
    )
}
SM_SURVEYS = {
    SM_SURVEY: SurveyMapping.model_validate(
        {
            "nps": {
                "field": "319352786",
                "choices": {f"13562844{n:02d}": n for n in range(11)},
            },
            "comment": "319352790",
            "customer_id": "customer",
            "survey_type": "relationship",
        }
    )
}
QX_SURVEYS = {
    QX_SURVEY: SurveyMapping.model_validate(
        {
            "nps": {"field": "QID1"},
            "csat": {"field": "QID2"},
            "comment": "QID3_TEXT",
            "customer_id": "customer_id",
            "touchpoint": "customer_support",
        }
    )
}


def dumps(doc: Any) -> bytes:
    return orjson.dumps(doc)


def typeform(
    token: str = "a3a12ec67a1365927098a606107fac15",
    *,
    nps: int = 9,
    csat: str = "Very satisfied",
    comment: str = "Checkout took two minutes, lovely.",
    form_id: str = TYPEFORM_FORM,
    event_type: str = "form_response",
) -> dict[str, Any]:
    return {
        "event_id": "LtWXD3crgy",
        "event_type": event_type,
        "form_response": {
            "form_id": form_id,
            "token": token,
            "landed_at": "2018-01-18T18:07:02Z",
            "submitted_at": "2018-01-18T18:17:02Z",
            "calculated": {"score": 9},
            "variables": [{"key": "score", "type": "number", "number": 4}],
            "hidden": {"user_id": "abc123456", "plan": "pro"},
            "definition": {
                "id": form_id,
                "title": "Webhooks example",
                "fields": [
                    {"id": "Nps0Field01", "ref": "nps_ref", "type": "nps", "title": "Recommend?"},
                    {"id": "CsatField01", "ref": "csat_ref", "type": "multiple_choice"},
                    {"id": "Ces7Field01", "ref": "ces_ref", "type": "opinion_scale"},
                    {"id": "DlXFaesGBpoF", "ref": "readable_ref_long_text", "type": "long_text"},
                    {"id": "SMEUb7VJz92Q", "ref": "readable_ref_email", "type": "email"},
                ],
            },
            "answers": [
                {
                    "type": "number",
                    "number": nps,
                    "field": {"id": "Nps0Field01", "type": "nps", "ref": "nps_ref"},
                },
                {
                    "type": "choice",
                    "choice": {"id": "eXnU3oA141Cg", "ref": "csat-choice", "label": csat},
                    "field": {"id": "CsatField01", "type": "multiple_choice", "ref": "csat_ref"},
                },
                {
                    "type": "number",
                    "number": 6,
                    "field": {"id": "Ces7Field01", "type": "opinion_scale", "ref": "ces_ref"},
                },
                {
                    "type": "text",
                    "text": comment,
                    "field": {
                        "id": "DlXFaesGBpoF",
                        "type": "long_text",
                        "ref": "readable_ref_long_text",
                    },
                },
                {
                    "type": "email",
                    "email": "laura@example.com",
                    "field": {"id": "SMEUb7VJz92Q", "type": "email", "ref": "readable_ref_email"},
                },
            ],
            "ending": {"id": "DefaultTyScreen", "ref": "default_tys"},
        },
    }


def typeform_headers(body: bytes, secret: str = SECRETS["typeform"]) -> dict[str, str]:
    signature = sign(secret, body, algorithm="sha256", encoding="base64", prefix="sha256=")
    return {"content-type": "application/json", "typeform-signature": signature}


def surveymonkey_event(
    response_id: str = "123456",
    *,
    event_type: str = "response_completed",
    event_id: str = "10000001",
    event_datetime: str = "2016-01-01T21:56:31.182613+00:00",
    survey_id: str = SM_SURVEY,
) -> dict[str, Any]:
    return {
        "name": "My Webhook",
        "filter_type": "collector",
        "filter_id": "123456789",
        "event_type": event_type,
        "event_id": event_id,
        "object_type": "response",
        "object_id": response_id,
        "event_datetime": event_datetime,
        "resources": {
            "respondent_id": response_id,
            "recipient_id": "0",
            "collector_id": "50253586",
            "survey_id": survey_id,
            "user_id": "48237424",
        },
    }


def surveymonkey_details(
    response_id: str = "123456",
    *,
    nps: int = 10,
    comment: str = "Support sorted my refund in a day.",
    modified: str = "2016-01-01T21:56:31+00:00",
    status: str = "completed",
) -> dict[str, Any]:
    return {
        "total_time": 144,
        "href": f"https://api.surveymonkey.com/v3/surveys/{SM_SURVEY}/responses/{response_id}",
        "custom_variables": {"customer": "c-42"},
        "ip_address": "198.51.100.7",
        "id": response_id,
        "logic_path": {},
        "date_modified": modified,
        "response_status": status,
        "custom_value": "",
        "analyze_url": "https://www.surveymonkey.com/analyze/browse/x?respondent_id=1",
        "pages": [
            {
                "id": "103332310",
                "questions": [
                    {"id": "319352786", "answers": [{"choice_id": f"13562844{nps:02d}"}]},
                    {"id": "319352790", "answers": [{"text": comment}]},
                ],
            },
            {"id": "103332311", "questions": []},
        ],
        "page_path": [],
        "recipient_id": "",
        "collector_id": "50253586",
        "date_created": "2016-01-01T21:54:07+00:00",
        "survey_id": SM_SURVEY,
        "collection_mode": "default",
        "edit_url": "https://www.surveymonkey.com/r/?sm=x",
        "metadata": {"contact": {}},
    }


def surveymonkey_headers(body: bytes, secret: str = SECRETS["surveymonkey"]) -> dict[str, str]:
    return {
        "content-type": "application/vnd.surveymonkey.response.v1+json",
        "sm-apikey": "sm-api-key",
        "sm-signature": sign(secret, body, algorithm="sha1", encoding="base64"),
    }


def qualtrics_msg(response_id: str, *, survey_id: str = QX_SURVEY) -> str:
    doc = {
        "Status": "Complete",
        "SurveyID": survey_id,
        "ResponseID": response_id,
        "CompletedDate": "2019-06-25 07:58:25",
        "BrandID": "sapdevelopment",
    }
    return orjson.dumps(doc).decode()


def qualtrics_form(
    msg: str,
    *,
    secret: str = SECRETS["qualtrics"],
    topic: str = f"sapdevelopment.surveyengine.completedResponse.{QX_SURVEY}",
    hmac_value: str | None = None,
) -> bytes:
    signature = (
        hmac_value if hmac_value is not None else sign(secret, msg.encode(), algorithm="sha512")
    )
    return urllib.parse.urlencode({"Topic": topic, "MSG": msg, "HMAC": signature}).encode()


QUALTRICS_FORM_HEADERS = {"content-type": "application/x-www-form-urlencoded"}


def qualtrics_response(response_id: str, *, nps: int = 8, csat: int = 4) -> dict[str, Any]:
    return {
        "result": {
            "responseId": response_id,
            "values": {
                "startDate": "2019-06-25T07:57:41Z",
                "endDate": "2019-06-25T07:58:25Z",
                "status": 0,
                "ipAddress": "203.0.113.9",
                "progress": 100,
                "duration": 44,
                "finished": 1,
                "recordedDate": "2019-06-25T07:58:25.683Z",
                "_recordId": response_id,
                "locationLatitude": "47.3667",
                "locationLongitude": "8.55",
                "distributionChannel": "anonymous",
                "userLanguage": "EN",
                "QID1": nps,
                "QID2": csat,
                "QID3_TEXT": "The agent was patient and fixed it.",
                "customer_id": "c-7",
            },
            "labels": {
                "status": "IP Address",
                "finished": "True",
                "QID1": str(nps),
                "QID2": "Satisfied",
            },
            "displayedFields": ["QID1", "QID2", "QID3_TEXT"],
            "displayedValues": {"QID1": list(range(11)), "QID2": [1, 2, 3, 4, 5]},
        },
        "meta": {"requestId": "1c3e8f0e-6d2b-4b8e-9a57-3b0a9c0e2d11", "httpStatus": "200 - OK"},
    }


def delighted(
    response_id: str = "5435",
    *,
    event_type: str = "survey_response.updated",
    score: int | None = 9,
    comment: str | None = "Your service is fast and flawless!",
    updated_at: int = 1732187444,
    survey_type: str = "nps",
) -> dict[str, Any]:
    return {
        "event_type": event_type,
        "event_id": "b8d057c59327541d7ec2104c0a9a255ad1997fb00831b9c6bbf09561e6d5cbd0",
        "event_data": {
            "id": response_id,
            "person": {
                "id": "5975",
                "email": "charlie_gravis@example.com",
                "name": "Charlie Gravis",
                "created_at": 1732186784,
            },
            "survey_type": survey_type,
            "score": score,
            "comment": comment,
            "permalink": "https://app.delighted.com/r/5pFDpmlyC8GUc5oxU6USto5VonSKAqOa",
            "created_at": 1732186844,
            "updated_at": updated_at,
            "person_properties": None,
            "notes": [],
            "tags": ["checkout"],
            "additional_answers": [],
        },
    }


def bearer(token: str = SECRETS["delighted"]) -> dict[str, str]:
    return {"content-type": "application/json", "authorization": f"Bearer {token}"}


def basic(token: str = SECRETS["delighted"], user: str = "voc") -> dict[str, str]:
    credentials = base64.b64encode(f"{user}:{token}".encode()).decode()
    return {"content-type": "application/json", "authorization": f"Basic {credentials}"}
