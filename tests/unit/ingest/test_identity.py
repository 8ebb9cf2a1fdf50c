"""Deterministic identity of ingested items: feedback_id per item, event_id per version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.surveys.models import SurveyResponse
from services.surveys.service import to_feedback
from shared.events import RawFeedbackEvent

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _event(received_at: datetime = NOW, **fields: object) -> RawFeedbackEvent:
    base: dict[str, object] = {
        "source": "delighted",
        "source_id": "r-42",
        "occurred_at": "2025-02-01T08:00:00Z",
        "nps": 6,
    }
    item = SurveyResponse.model_validate({**base, **fields})
    return RawFeedbackEvent.wrap(to_feedback(item, received_at), producer="surveys")


class TestIdentity:
    def test_same_item_twice_gives_same_feedback_and_event_id(self) -> None:
        first, again = _event(), _event(received_at=NOW + timedelta(minutes=5))
        assert first.data.feedback_id == again.data.feedback_id
        assert first.event_id == again.event_id

    def test_new_revision_keeps_feedback_id_and_gets_new_event_id(self) -> None:
        v1 = _event(revision=1)
        v2 = _event(revision=2, comment="Slow delivery")
        assert v1.data.feedback_id == v2.data.feedback_id
        assert v1.event_id != v2.event_id
        assert v2.data.revision_rank > v1.data.revision_rank

    def test_newer_updated_at_is_a_newer_version(self) -> None:
        old = _event(updated_at="2025-02-01T08:00:00Z")
        new = _event(updated_at="2025-02-01T09:00:00Z")
        assert old.event_id != new.event_id
        assert new.data.revision_rank > old.data.revision_rank

    def test_another_source_id_is_another_item(self) -> None:
        assert _event().data.feedback_id != _event(source_id="r-43").data.feedback_id

    def test_same_source_id_in_another_system_is_another_item(self) -> None:
        assert _event().data.feedback_id != _event(source="typeform").data.feedback_id

    def test_integer_and_string_revision_name_the_same_version(self) -> None:
        assert _event(revision=7).event_id == _event(revision="7").event_id

    def test_event_key_is_the_feedback_id(self) -> None:
        event = _event()
        assert event.key() == str(event.data.feedback_id).encode()
        assert event.topic() == "voc.raw.survey.v1"
