"""Envelope-only vendors: queued, fetched from a local vendor API, dead-lettered, replayed."""

from __future__ import annotations

from shared.events import DLQ_TOPIC
from shared.ingest.webhooks.pending import FetchPendingEvent
from shared.ingest.webhooks.replay import replay_fetches
from tests.integration.ingest.webhooks.conftest import (
    SURVEY_TOPIC,
    Surveys,
    decode,
    of_item,
    records_where,
)
from tests.unit.ingest.webhooks import vendors


def _sm_path(response_id: str) -> str:
    return f"/surveymonkey/v3/surveys/{vendors.SM_SURVEY}/responses/{response_id}/details"


def _qx_path(response_id: str) -> str:
    return f"/qualtrics/v3/surveys/{vendors.QX_SURVEY}/responses/{response_id}"


async def _post_sm(surveys: Surveys, response_id: str, **event: str) -> dict[str, int]:
    body = vendors.dumps(vendors.surveymonkey_event(response_id, **event))
    response = await surveys.post("surveymonkey", body, vendors.surveymonkey_headers(body))
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


class TestSurveyMonkeyWebhook:
    async def test_envelope_is_fetched_and_published_with_mapped_scores(
        self, surveys: Surveys, unique: str
    ) -> None:
        rid = f"9{unique}"
        surveys.api.serve(_sm_path(rid), (200, vendors.surveymonkey_details(rid, nps=4)))

        answer = await _post_sm(surveys, rid, event_id=f"e-{unique}")

        assert (answer["accepted"], answer["fetch_queued"]) == (0, 1)
        [record] = await records_where(surveys.kafka, SURVEY_TOPIC, of_item("surveymonkey", rid))
        event = decode(record)
        assert event.data.survey is not None and event.data.survey.nps == 4
        assert event.data.customer.id == "c-42"
        assert event.data.metadata["raw"]["fetched"]["id"] == rid
        assert event.data.metadata["raw"]["webhook"]["event_id"] == f"e-{unique}"
        [(_, headers)] = [s for s in surveys.api.seen if s[0] == _sm_path(rid)]
        assert headers["authorization"] == "Bearer surveymonkey-api-token"

    async def test_redelivered_envelope_yields_the_same_event_id(
        self, surveys: Surveys, unique: str
    ) -> None:
        rid = f"5{unique}"
        surveys.api.serve(_sm_path(rid), (200, vendors.surveymonkey_details(rid)))

        await _post_sm(surveys, rid, event_id=f"r-{unique}")
        await _post_sm(surveys, rid, event_id=f"r-{unique}")

        records = await records_where(surveys.kafka, SURVEY_TOPIC, of_item("surveymonkey", rid), 2)
        assert len({decode(r).event_id for r in records}) == 1

    async def test_signature_of_another_key_is_401_and_counted(self, surveys: Surveys) -> None:
        body = vendors.dumps(vendors.surveymonkey_event())
        headers = vendors.surveymonkey_headers(body, secret="sm-api-key&wrong")
        before = await surveys.metric(
            "voc_surveys_webhook_auth_failures_total", vendor="surveymonkey", reason="bad_signature"
        )

        response = await surveys.post("surveymonkey", body, headers)

        assert (response.status_code, response.json()["detail"]) == (401, "bad_signature")
        after = await surveys.metric(
            "voc_surveys_webhook_auth_failures_total", vendor="surveymonkey", reason="bad_signature"
        )
        assert after == before + 1

    async def test_deleted_response_is_a_tombstone_without_a_fetch(
        self, surveys: Surveys, unique: str
    ) -> None:
        rid = f"8{unique}"
        answer = await _post_sm(surveys, rid, event_type="response_deleted")

        assert answer["accepted"] == 1
        [record] = await records_where(surveys.kafka, SURVEY_TOPIC, of_item("surveymonkey", rid))
        assert decode(record).data.deleted is True
        assert surveys.api.calls(_sm_path(rid)) == 0

    async def test_fetch_that_fails_for_good_is_dead_lettered_then_replayed(
        self, surveys: Surveys, unique: str
    ) -> None:
        rid = f"7{unique}"
        surveys.api.serve(_sm_path(rid), (503, {"error": {"message": "maintenance"}}))
        before = await surveys.metric(
            "voc_surveys_webhook_events_total", vendor="surveymonkey", outcome="fetch_failed"
        )

        await _post_sm(surveys, rid, event_id=f"fail-{unique}")

        def mine(record: object) -> bool:
            event = FetchPendingEvent.model_validate_json(record.value)  # type: ignore[attr-defined]
            return event.data.source_id == rid

        [dead] = await records_where(surveys.kafka, DLQ_TOPIC, mine)
        headers = dict(dead.headers)
        assert headers["dlq_reason"] == b"fetch_failed"
        assert headers["dlq_source_topic"] == b"voc.fetch.pending.v1"
        assert headers["dlq_error"] == b"http_503"
        assert surveys.api.calls(_sm_path(rid)) == 2  # max_attempts
        assert (
            await surveys.metric(
                "voc_surveys_webhook_events_total", vendor="surveymonkey", outcome="fetch_failed"
            )
            == before + 1
        )

        # The vendor is back; an operator replays the dead-lettered envelopes.
        surveys.api.serve(_sm_path(rid), (200, vendors.surveymonkey_details(rid, nps=9)))
        report = await replay_fetches(
            surveys.kafka, vendor="surveymonkey", group_id=f"replay-{unique}", idle_s=1.0
        )

        assert report.replayed >= 1
        [record] = await records_where(surveys.kafka, SURVEY_TOPIC, of_item("surveymonkey", rid))
        assert decode(record).data.survey.nps == 9  # type: ignore[union-attr]

    async def test_replay_of_a_fetch_still_failing_ends_and_keeps_it_for_the_next_run(
        self, surveys: Surveys, unique: str
    ) -> None:
        rid = f"5{unique}"
        surveys.api.serve(_sm_path(rid), (503, {"error": {"message": "down for good"}}))
        await _post_sm(surveys, rid, event_id=f"dead-{unique}")

        def mine(record: object) -> bool:
            event = FetchPendingEvent.model_validate_json(record.value)  # type: ignore[attr-defined]
            return event.data.source_id == rid

        await records_where(surveys.kafka, DLQ_TOPIC, mine)
        group = f"replay-{unique}"
        first = await replay_fetches(surveys.kafka, vendor="surveymonkey", group_id=group, idle_s=8)
        # The replayed envelope failed again and came back to the DLQ during the run: the run
        # stopped there instead of cycling it, and left it for the next run.
        assert first.replayed >= 1
        [_, again] = await records_where(surveys.kafka, DLQ_TOPIC, mine, count=2)
        assert dict(again.headers)["dlq_reason"] == b"fetch_failed"
        surveys.api.serve(_sm_path(rid), (200, vendors.surveymonkey_details(rid, nps=3)))
        second = await replay_fetches(
            surveys.kafka, vendor="surveymonkey", group_id=group, idle_s=1
        )
        assert second.replayed >= 1
        [record] = await records_where(surveys.kafka, SURVEY_TOPIC, of_item("surveymonkey", rid))
        assert decode(record).data.survey.nps == 3  # type: ignore[union-attr]

    async def test_edited_response_is_a_newer_revision(self, surveys: Surveys, unique: str) -> None:
        rid = f"6{unique}"
        surveys.api.serve(
            _sm_path(rid),
            (200, vendors.surveymonkey_details(rid, nps=5)),
            (200, vendors.surveymonkey_details(rid, nps=8, modified="2016-01-02T09:00:00+00:00")),
        )
        await _post_sm(surveys, rid, event_id=f"c-{unique}")
        [first] = await records_where(surveys.kafka, SURVEY_TOPIC, of_item("surveymonkey", rid))
        await _post_sm(surveys, rid, event_type="response_updated", event_id=f"u-{unique}")

        records = await records_where(surveys.kafka, SURVEY_TOPIC, of_item("surveymonkey", rid), 2)
        old, new = (decode(r).data for r in records)
        assert decode(first).data.revision == old.revision
        assert new.revision_rank > old.revision_rank
        assert (old.survey.nps, new.survey.nps) == (5, 8)  # type: ignore[union-attr]


class TestQualtricsWebhook:
    async def test_signed_form_is_fetched_and_published(
        self, surveys: Surveys, unique: str
    ) -> None:
        rid = f"R_{unique}"
        surveys.api.serve(_qx_path(rid), (200, vendors.qualtrics_response(rid, nps=6, csat=2)))
        body = vendors.qualtrics_form(vendors.qualtrics_msg(rid))

        response = await surveys.post("qualtrics", body, vendors.QUALTRICS_FORM_HEADERS)

        assert response.status_code == 202, response.text
        assert response.json()["fetch_queued"] == 1
        [record] = await records_where(surveys.kafka, SURVEY_TOPIC, of_item("qualtrics", rid))
        event = decode(record)
        assert event.data.survey is not None
        assert (event.data.survey.nps, event.data.survey.csat) == (6, 2)
        assert event.data.touchpoint == "customer_support"
        assert event.data.metadata["raw"]["webhook"]["Topic"].endswith(vendors.QX_SURVEY)
        [(_, headers)] = [s for s in surveys.api.seen if s[0] == _qx_path(rid)]
        assert headers["x-api-token"] == "qualtrics-api-token"

    async def test_redelivered_event_yields_the_same_event_id(
        self, surveys: Surveys, unique: str
    ) -> None:
        rid = f"R_again{unique}"
        surveys.api.serve(_qx_path(rid), (200, vendors.qualtrics_response(rid)))
        body = vendors.qualtrics_form(vendors.qualtrics_msg(rid))

        for _ in range(2):
            response = await surveys.post("qualtrics", body, vendors.QUALTRICS_FORM_HEADERS)
            assert response.status_code == 202

        records = await records_where(surveys.kafka, SURVEY_TOPIC, of_item("qualtrics", rid), 2)
        assert len({decode(r).event_id for r in records}) == 1

    async def test_hmac_of_another_key_is_401_and_nothing_is_fetched(
        self, surveys: Surveys, unique: str
    ) -> None:
        rid = f"R_bad{unique}"
        body = vendors.qualtrics_form(vendors.qualtrics_msg(rid), secret="wrong")

        response = await surveys.post("qualtrics", body, vendors.QUALTRICS_FORM_HEADERS)

        assert response.status_code == 401
        assert response.json()["detail"] == "bad_signature"
        assert surveys.api.calls(_qx_path(rid)) == 0
