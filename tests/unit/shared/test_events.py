from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.events import (
    DLQ_TOPIC,
    EnrichedFeedbackEvent,
    Feedback,
    RawFeedbackEvent,
    SourceKind,
    SurveyPart,
    all_topics,
)
from shared.ids import event_id_for, feedback_id_for, revision_rank
from shared.kafka import encode_event


def _feedback(**over: object) -> Feedback:
    base: dict[str, object] = {
        "feedback_id": feedback_id_for("api", "1"),
        "source_kind": SourceKind.survey,
        "source": "api",
        "source_id": "1",
        "revision": "3",
        "revision_rank": revision_rank("3"),
        "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
        "received_at": datetime(2026, 1, 1, 0, 1, tzinfo=UTC),
        "survey": SurveyPart(nps=9),
    }
    base.update(over)
    return Feedback.model_validate(base)


class TestEnvelope:
    def test_wrap_derives_event_id_from_identity_and_revision(self) -> None:
        event = RawFeedbackEvent.wrap(_feedback(), producer="surveys")
        assert event.event_id == event_id_for("api", "1", "3")
        assert event.type == "voc.feedback.raw"
        assert event.version == 1

    def test_raw_topic_follows_source_kind(self) -> None:
        event = RawFeedbackEvent.wrap(_feedback(source_kind=SourceKind.review), producer="x")
        assert event.topic() == "voc.raw.review.v1"

    def test_topics_cover_every_kind_enriched_and_dlq(self) -> None:
        assert set(all_topics()) == {
            "voc.raw.survey.v1",
            "voc.raw.ticket.v1",
            "voc.raw.review.v1",
            "voc.raw.social.v1",
            EnrichedFeedbackEvent.TOPIC,
            "voc.fetch.pending.v1",
            DLQ_TOPIC,
        }

    def test_encoding_round_trips_with_key_and_ce_headers(self) -> None:
        event = RawFeedbackEvent.wrap(_feedback(), producer="surveys")
        key, value, headers = encode_event(event)
        assert key == str(event.data.feedback_id).encode()
        assert RawFeedbackEvent.model_validate_json(value) == event
        names = dict(headers)
        assert names["ce_id"] == str(event.event_id).encode()
        assert names["ce_type"] == b"voc.feedback.raw"
        assert names["ce_source"] == b"surveys"


class TestFeedbackValidation:
    def test_out_of_range_nps_is_rejected(self) -> None:
        with pytest.raises(ValidationError, match="nps"):
            _feedback(survey={"nps": 11})

    def test_unknown_field_is_rejected(self) -> None:
        with pytest.raises(ValidationError, match="surprise"):
            _feedback(surprise=1)
