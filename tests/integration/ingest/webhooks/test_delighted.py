"""Delighted: a score, then the comment as an update of the same item, on the real broker."""

from __future__ import annotations

from shared.ids import feedback_id_for
from tests.integration.ingest.webhooks.conftest import (
    SURVEY_TOPIC,
    Surveys,
    decode,
    records_where,
    with_ids,
)
from tests.unit.ingest.webhooks import vendors


class TestDelightedWebhook:
    async def test_update_is_a_newer_revision_of_the_same_item(
        self, surveys: Surveys, unique: str
    ) -> None:
        created = vendors.delighted(
            f"dl-{unique}",
            event_type="survey_response.created",
            comment=None,
            updated_at=1732186844,
        )
        updated = vendors.delighted(f"dl-{unique}", updated_at=1732187444)

        first = await surveys.post("delighted", vendors.dumps(created), vendors.bearer())
        second = await surveys.post("delighted", vendors.dumps(updated), vendors.basic())

        assert first.status_code == second.status_code == 202, second.text
        ids = [*first.json()["event_ids"], *second.json()["event_ids"]]
        assert len(set(ids)) == 2
        events = {
            str(e.event_id): e
            for e in map(
                decode, await records_where(surveys.kafka, SURVEY_TOPIC, with_ids(*ids), 2)
            )
        }
        old, new = events[ids[0]].data, events[ids[1]].data
        assert old.feedback_id == new.feedback_id == feedback_id_for("delighted", f"dl-{unique}")
        assert new.revision_rank > old.revision_rank  # the metrics writer keeps the newer one
        assert (old.text, new.text) == (None, "Your service is fast and flawless!")
        assert new.survey is not None and new.survey.nps == 9

    async def test_redelivery_gets_the_same_event_id(self, surveys: Surveys, unique: str) -> None:
        body = vendors.dumps(vendors.delighted(f"dl-again-{unique}"))
        first = await surveys.post("delighted", body, vendors.bearer())
        again = await surveys.post("delighted", body, vendors.bearer())
        assert first.status_code == again.status_code == 202
        assert first.json()["event_ids"] == again.json()["event_ids"]

    async def test_wrong_token_is_401_and_counted(self, surveys: Surveys) -> None:
        before = await surveys.metric(
            "voc_surveys_webhook_auth_failures_total", vendor="delighted", reason="bad_token"
        )
        response = await surveys.post(
            "delighted", vendors.dumps(vendors.delighted()), vendors.bearer("guess")
        )
        assert response.status_code == 401
        assert response.json()["detail"] == "bad_token"
        after = await surveys.metric(
            "voc_surveys_webhook_auth_failures_total", vendor="delighted", reason="bad_token"
        )
        assert after == before + 1

    async def test_unsubscribe_is_acknowledged_and_ignored(self, surveys: Surveys) -> None:
        payload = {"event_type": "unsubscribe.created", "event_data": {"person": {"id": "5975"}}}
        response = await surveys.post("delighted", vendors.dumps(payload), vendors.bearer())
        assert response.status_code == 202
        assert response.json() == {"accepted": 0, "event_ids": [], "fetch_queued": 0, "ignored": 1}
