"""Event envelopes and feedback models: identity, topics, and strict producing with tolerant
consuming (DESIGN.md: within a version changes are additive, so a consumer must read an event
that carries fields newer than itself)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from shared.consumer import KafkaRunner
from shared.events import (
    DLQ_TOPIC,
    EnrichedFeedback,
    EnrichedFeedbackEvent,
    Envelope,
    Feedback,
    FetchPendingEvent,
    RawFeedbackEvent,
    SourceKind,
    SurveyPart,
    all_topics,
)
from shared.ids import event_id_for, feedback_id_for, revision_rank
from shared.kafka import encode_event
from shared.settings import KafkaSettings
from shared.telemetry import ConsumerMetrics
from tests.unit.metrics.factories import enriched


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


def _pending() -> FetchPendingEvent:
    return FetchPendingEvent.create(
        vendor="surveymonkey",
        source_id="r-9",
        delivery_id="d-1",
        params={"survey_id": "s-1"},
        envelope={"event_type": "response_completed"},
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
        producer="surveys",
    )


# An event as a newer producer would write it: one more optional field at every level.
NEWER: dict[str, tuple[tuple[str, ...], ...]] = {
    "raw": ((), ("data",), ("data", "survey"), ("data", "customer")),
    "enriched": ((), ("data",), ("data", "enrichment"), ("data", "enrichment", "sentiment")),
    "pending": ((), ("data",)),
}
EVENTS: dict[str, Callable[[], Envelope[Any]]] = {
    "raw": lambda: RawFeedbackEvent.wrap(_feedback(), producer="surveys"),
    "enriched": lambda: enriched(nps=9, sentiment=("positive", 0.8)),
    "pending": _pending,
}


def _with_new_fields(event: Envelope[Any], where: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(event.model_dump_json())
    for path in NEWER[where]:
        node = doc
        for key in path:
            node = node[key]
        node["added_in_a_later_minor"] = {"any": ["shape"]}
    return doc


def _record(value: bytes) -> ConsumerRecord:  # type: ignore[type-arg]
    return ConsumerRecord("voc.test.v1", 0, 7, 0, 0, b"k", value, None, 1, len(value), [])


def _runner(event_type: type[Envelope[Any]]) -> KafkaRunner[Any]:
    async def handler(batch: object) -> None:
        return None

    return KafkaRunner(
        settings=KafkaSettings(),
        group_id="test",
        topics=["voc.test.v1"],
        event_type=event_type,
        handler=handler,
        dlq_producer=None,  # type: ignore[arg-type]  # decoding never dead-letters by itself
        metrics=ConsumerMetrics("test", CollectorRegistry()),
    )


@pytest.mark.parametrize("kind", sorted(EVENTS))
class TestConsumingIsTolerant:
    def test_unknown_fields_at_every_level_are_dropped(self, kind: str) -> None:
        event = EVENTS[kind]()
        doc = _with_new_fields(event, kind)
        consumed = type(event).model_validate_json(json.dumps(doc))
        assert consumed == event
        assert "added_in_a_later_minor" not in consumed.model_dump_json()

    def test_the_runner_hands_such_an_event_to_the_handler_not_the_dlq(self, kind: str) -> None:
        event = EVENTS[kind]()
        value = json.dumps(_with_new_fields(event, kind)).encode()
        good, bad = _runner(type(event))._decode([_record(value)])
        assert bad == []
        assert [c.event for c in good] == [event]

    def test_known_fields_are_still_validated(self, kind: str) -> None:
        event = EVENTS[kind]()
        doc = _with_new_fields(event, kind)
        doc["event_id"] = "not-a-uuid"
        good, bad = _runner(type(event))._decode([_record(json.dumps(doc).encode())])
        assert good == []
        assert [(r.reason, r.error.split(":")[0]) for r in bad] == [("invalid", "event_id")]

    def test_a_strict_read_can_still_be_asked_for(self, kind: str) -> None:
        event = EVENTS[kind]()
        text = json.dumps(_with_new_fields(event, kind))
        with pytest.raises(ValidationError, match="added_in_a_later_minor"):
            type(event).model_validate_json(text, extra="forbid")


class TestProducingIsStrict:
    @pytest.mark.parametrize("kind", sorted(EVENTS))
    def test_building_an_event_with_unknown_fields_fails(self, kind: str) -> None:
        event = EVENTS[kind]()
        doc = _with_new_fields(event, kind)
        with pytest.raises(ValidationError) as caught:
            type(event).model_validate(doc)
        # Every level is reported, not just the first.
        assert len(caught.value.errors()) == len(NEWER[kind])
        assert {e["type"] for e in caught.value.errors()} == {"extra_forbidden"}

    def test_a_misspelt_keyword_fails_where_the_producer_builds_the_item(self) -> None:
        with pytest.raises(ValidationError, match="langauge_hint"):
            _feedback(langauge_hint="en")
        data = enriched().data.model_dump()
        data["enrichment"]["touchpoint_rul"] = "explicit"
        with pytest.raises(ValidationError, match="touchpoint_rul"):
            EnrichedFeedback.model_validate(data)

    def test_a_consumed_event_produced_again_carries_no_unknown_field(self) -> None:
        event = RawFeedbackEvent.wrap(_feedback(), producer="surveys")
        consumed = RawFeedbackEvent.model_validate_json(json.dumps(_with_new_fields(event, "raw")))
        _, value, _ = encode_event(consumed)
        assert b"added_in_a_later_minor" not in value
        assert RawFeedbackEvent.model_validate_json(value, extra="forbid") == event
