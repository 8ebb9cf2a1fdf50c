"""Typeform deliveries on the real broker: accepted once signed, refused and counted otherwise."""

from __future__ import annotations

from tests.integration.ingest.webhooks.conftest import (
    MAX_WEBHOOK_BODY,
    SURVEY_TOPIC,
    Surveys,
    decode,
    records_where,
    with_ids,
)
from tests.unit.ingest.webhooks import vendors


class TestTypeformWebhook:
    async def test_signed_response_is_published_with_scores_and_raw_payload(
        self, surveys: Surveys, unique: str
    ) -> None:
        payload = vendors.typeform(f"tok-{unique}", nps=10, comment="Smooth checkout")
        body = vendors.dumps(payload)
        before = await surveys.metric(
            "voc_surveys_webhook_events_total", vendor="typeform", outcome="accepted"
        )

        response = await surveys.post("typeform", body, vendors.typeform_headers(body))

        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == 1
        [record] = await records_where(
            surveys.kafka, SURVEY_TOPIC, with_ids(*response.json()["event_ids"])
        )
        event = decode(record)
        assert (event.data.source, event.data.source_id) == ("typeform", f"tok-{unique}")
        assert event.data.survey is not None
        assert (event.data.survey.nps, event.data.survey.csat, event.data.survey.ces) == (10, 5, 6)
        assert event.data.text == "Smooth checkout"
        assert event.data.touchpoint == "checkout"
        assert event.data.metadata["raw"] == payload
        assert event.producer == "surveys"
        after = await surveys.metric(
            "voc_surveys_webhook_events_total", vendor="typeform", outcome="accepted"
        )
        assert after == before + 1

    async def test_replayed_delivery_gets_the_same_event_id(
        self, surveys: Surveys, unique: str
    ) -> None:
        body = vendors.dumps(vendors.typeform(f"again-{unique}"))
        first = await surveys.post("typeform", body, vendors.typeform_headers(body))
        again = await surveys.post("typeform", body, vendors.typeform_headers(body))

        assert first.status_code == again.status_code == 202
        assert first.json()["event_ids"] == again.json()["event_ids"]
        records = await records_where(
            surveys.kafka, SURVEY_TOPIC, with_ids(*first.json()["event_ids"]), 2
        )
        assert len({decode(r).event_id for r in records}) == 1  # consumers dedupe by event id

    async def test_bad_signature_is_401_with_reason_and_counted(
        self, surveys: Surveys, unique: str
    ) -> None:
        body = vendors.dumps(vendors.typeform(f"forged-{unique}"))
        headers = vendors.typeform_headers(body, secret="not-the-secret")
        before = await surveys.metric(
            "voc_surveys_webhook_auth_failures_total", vendor="typeform", reason="bad_signature"
        )

        response = await surveys.post("typeform", body, headers)

        assert response.status_code == 401
        assert response.json() == {"error": "unauthorized", "detail": "bad_signature"}
        after = await surveys.metric(
            "voc_surveys_webhook_auth_failures_total", vendor="typeform", reason="bad_signature"
        )
        assert after == before + 1

    async def test_missing_signature_is_401_missing_signature(self, surveys: Surveys) -> None:
        body = vendors.dumps(vendors.typeform())
        response = await surveys.post("typeform", body, {"content-type": "application/json"})
        assert response.status_code == 401
        assert response.json()["detail"] == "missing_signature"

    async def test_missing_required_vendor_field_is_422_naming_it(self, surveys: Surveys) -> None:
        payload = vendors.typeform()
        del payload["form_response"]["submitted_at"]
        body = vendors.dumps(payload)

        response = await surveys.post("typeform", body, vendors.typeform_headers(body))

        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["detail"]] == [
            ["body", "form_response", "submitted_at"]
        ]

    async def test_non_json_content_type_is_415(self, surveys: Surveys) -> None:
        body = vendors.dumps(vendors.typeform())
        headers = {**vendors.typeform_headers(body), "content-type": "text/plain"}
        response = await surveys.post("typeform", body, headers)
        assert response.status_code == 415
        assert response.json()["error"] == "unsupported_media_type"

    async def test_body_over_the_webhook_limit_is_413(self, surveys: Surveys) -> None:
        payload = vendors.typeform(comment="x" * MAX_WEBHOOK_BODY)
        body = vendors.dumps(payload)
        response = await surveys.post("typeform", body, vendors.typeform_headers(body))
        assert response.status_code == 413

    async def test_unknown_vendor_is_404(self, surveys: Surveys) -> None:
        response = await surveys.post("zendesk", b"{}", {"content-type": "application/json"})
        assert response.status_code == 404
        assert response.json()["error"] == "unknown_vendor"
