"""The committed contracts in schemas/ are what shared/events.py generates, and they hold."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared import schema_export
from shared.events import (
    DLQ_TOPIC,
    EnrichedFeedback,
    EnrichedFeedbackEvent,
    Enrichment,
    Feedback,
    JourneyStage,
    RawFeedbackEvent,
    Sentiment,
    SentimentLabel,
    SourceKind,
    SurveyPart,
    TicketPart,
    Topic,
    TopicScore,
    all_topics,
)
from shared.ids import feedback_id_for, revision_rank
from shared.kafka import event_headers
from tests.unit.schema_support import SchemaViolation, check, validate

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def raw_event() -> RawFeedbackEvent:
    data = Feedback(
        feedback_id=feedback_id_for("typeform", "r-1"),
        source_kind=SourceKind.survey,
        source="typeform",
        source_id="r-1",
        revision="2",
        revision_rank=revision_rank("2"),
        occurred_at=NOW,
        received_at=NOW,
        text="Checkout was slow",
        metadata={"form_id": "f-9", "tags": ["web"]},
        survey=SurveyPart(nps=6, csat=2),
    )
    return RawFeedbackEvent.wrap(data, producer="surveys", correlation_id="req-1")


def enriched_event() -> EnrichedFeedbackEvent:
    raw = raw_event().data.model_dump()
    raw.update(text=None, source_kind=SourceKind.ticket, survey=None, ticket=TicketPart(csat=4))
    data = EnrichedFeedback(
        **raw,
        enrichment=Enrichment(
            language="en",
            language_confidence=0.9,
            redacted_text="Checkout was slow",
            sentiment=Sentiment(label=SentimentLabel.negative, score=-0.6, confidence=0.8),
            topics=[TopicScore(label=Topic.usability, score=0.7)],
            touchpoint="checkout",
            journey_stage=JourneyStage.conversion,
            touchpoint_rule="topic:usability",
            model_version="e5-small-q4+lr-1",
        ),
    )
    return EnrichedFeedbackEvent.wrap(data, producer="classifier")


def load_schema(event: type) -> dict[str, Any]:
    return json.loads((SCHEMAS / schema_export.schema_file(event)).read_text())


class TestCommittedFiles:
    def test_committed_files_equal_what_the_models_generate(self) -> None:
        assert schema_export.drifted(SCHEMAS) == [], (
            "schemas/ drifted from shared/events.py: run `python -m shared.schema_export`"
        )

    def test_output_is_deterministic_with_a_trailing_newline(self) -> None:
        first, second = schema_export.render(), schema_export.render()
        assert first == second
        assert all(text.endswith("\n") and not text.endswith("\n\n") for text in first.values())

    def test_file_names_follow_the_event_classes(self) -> None:
        assert sorted(schema_export.render()) == [
            "asyncapi.yaml",
            "enriched-feedback-event.v1.schema.json",
            "fetch-pending-event.v1.schema.json",
            "raw-feedback-event.v1.schema.json",
        ]


class TestCheckCommand:
    def test_clean_directory_passes(self, tmp_path: Path) -> None:
        assert schema_export.main(["--out", str(tmp_path)]) == 0
        assert schema_export.main(["--check", "--out", str(tmp_path)]) == 0

    def test_edited_and_missing_files_are_listed_and_exit_1(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        schema_export.write(tmp_path)
        edited = tmp_path / "raw-feedback-event.v1.schema.json"
        edited.write_text(edited.read_text().replace('"maxLength": 256', '"maxLength": 255', 1))
        (tmp_path / "asyncapi.yaml").unlink()

        assert schema_export.main(["--check", "--out", str(tmp_path)]) == 1
        err = capsys.readouterr().err
        assert "raw-feedback-event.v1.schema.json" in err
        assert "asyncapi.yaml" in err
        assert "enriched-feedback-event.v1.schema.json" not in err


class TestEventSchemas:
    @pytest.mark.parametrize("make", [raw_event, enriched_event])
    def test_an_event_built_from_the_models_validates(self, make: Any) -> None:
        event = make()
        validate(json.loads(event.model_dump_json()), load_schema(type(event)))

    @pytest.mark.parametrize(
        ("path", "value"),
        [
            (("data", "survey", "nps"), 11),
            (("event_id",), "not-a-uuid"),
            (("data", "occurred_at"), "last tuesday"),
        ],
    )
    def test_an_event_the_models_reject_is_rejected_by_the_schema(
        self, path: tuple[str, ...], value: Any
    ) -> None:
        doc = json.loads(raw_event().model_dump_json())
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        with pytest.raises(ValueError):
            RawFeedbackEvent.model_validate(doc)
        with pytest.raises(SchemaViolation):
            check(doc, load_schema(RawFeedbackEvent), load_schema(RawFeedbackEvent))

    def test_unknown_properties_are_allowed_as_consumers_ignore_them(self) -> None:
        event = enriched_event()
        doc = json.loads(event.model_dump_json())
        for node in (doc, doc["data"], doc["data"]["enrichment"], doc["data"]["customer"]):
            node["added_in_a_later_minor"] = 1
        schema = load_schema(EnrichedFeedbackEvent)
        validate(doc, schema)
        assert EnrichedFeedbackEvent.model_validate_json(json.dumps(doc)) == event
        objects = [schema, *schema["$defs"].values()]
        assert {
            d.get("title"): d["additionalProperties"] for d in objects if "properties" in d
        } == {d.get("title"): True for d in objects if "properties" in d}

    def test_a_missing_required_field_is_rejected(self) -> None:
        doc = json.loads(enriched_event().model_dump_json())
        del doc["data"]["enrichment"]["touchpoint"]
        schema = load_schema(EnrichedFeedbackEvent)
        with pytest.raises(SchemaViolation, match="touchpoint"):
            check(doc, schema, schema)


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return yaml.safe_load((SCHEMAS / "asyncapi.yaml").read_text())


class TestAsyncApi:
    def test_channels_are_exactly_the_pipeline_topics(self, doc: dict[str, Any]) -> None:
        addresses = sorted(c["address"] for c in doc["channels"].values())
        assert doc["asyncapi"].startswith("3.0")
        assert addresses == sorted(all_topics())

    def test_payloads_reference_the_committed_schema_files(self, doc: dict[str, Any]) -> None:
        for event in (RawFeedbackEvent, EnrichedFeedbackEvent):
            payload = doc["components"]["messages"][event.__name__]["payload"]
            assert (SCHEMAS / payload["schema"]["$ref"]).is_file()

    def test_every_operation_points_at_a_channel_and_its_message(self, doc: dict[str, Any]) -> None:
        for op in doc["operations"].values():
            channel_id = op["channel"]["$ref"].removeprefix("#/channels/")
            channel = doc["channels"][channel_id]
            for ref in op["messages"]:
                cid, _, name = ref["$ref"].removeprefix("#/channels/").partition("/messages/")
                assert cid == channel_id and name in channel["messages"]

    def test_each_topic_has_its_producers_and_consumers(self, doc: dict[str, Any]) -> None:
        ends: dict[str, set[str]] = {}
        for op in doc["operations"].values():
            address = doc["channels"][op["channel"]["$ref"].split("/")[-1]]["address"]
            ends.setdefault(address, set()).add(f"{op['tags'][0]['name']}:{op['action']}")
        assert ends[RawFeedbackEvent.topic_for("survey")] == {"surveys:send", "classifier:receive"}
        assert ends[RawFeedbackEvent.topic_for("social")] == {"social:send", "classifier:receive"}
        assert ends[EnrichedFeedbackEvent.TOPIC] == {"classifier:send", "metrics:receive"}
        assert ends[DLQ_TOPIC] == {"classifier:send", "metrics:send"}

    def test_ce_headers_are_the_ones_the_producer_writes(self, doc: dict[str, Any]) -> None:
        event = raw_event()
        written = dict(event_headers(event))
        headers = doc["components"]["messages"]["RawFeedbackEvent"]["headers"]
        assert sorted(headers["required"]) == sorted(written)
        check({k: v.decode() for k, v in written.items()}, headers, headers)

    def test_dlq_headers_are_the_ones_the_runner_writes(self, doc: dict[str, Any]) -> None:
        # The runner writes them inline; read their names from its source.
        source = (ROOT / "shared" / "consumer.py").read_text()
        written = set(re.findall(r'"(dlq_[a-z_]+)"', source))
        headers = doc["components"]["messages"]["DeadLetter"]["headers"]
        assert written and set(headers["required"]) == written

    def test_message_key_is_the_feedback_id(self, doc: dict[str, Any]) -> None:
        key = doc["components"]["messages"]["RawFeedbackEvent"]["bindings"]["kafka"]["key"]
        assert key["format"] == "uuid" and "feedback_id" in key["description"]
        assert raw_event().key() == str(raw_event().data.feedback_id).encode()
