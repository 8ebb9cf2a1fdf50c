"""Items → events: canonical items via the service's to_feedback, tombstones, pending fetches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.surveys.adapters.typeform import TypeformAdapter
from services.surveys.models import SurveyResponse
from services.surveys.service import to_feedback
from shared.events import SourceKind
from shared.ids import event_id_for, feedback_id_for
from shared.ingest.errors import InvalidPayload
from shared.ingest.webhooks import Deletion, FetchRequest, Ignored
from shared.ingest.webhooks.mapping import ItemMapper
from tests.unit.ingest.webhooks import vendors
from tests.unit.ingest.webhooks.support import first_loc

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ADAPTER = TypeformAdapter(vendors.TYPEFORM_FORMS)
RAW = {"delivery": "as received"}


def _mapper() -> ItemMapper:
    return ItemMapper(kind=SourceKind.survey, producer="surveys", to_feedback=to_feedback)


def _response(**fields: Any) -> SurveyResponse:
    base = {"source": "typeform", "source_id": "tok-1", "occurred_at": NOW, "nps": 9}
    return SurveyResponse.model_validate({**base, **fields})


class TestItemMapper:
    def test_canonical_item_keeps_the_raw_payload_and_deterministic_ids(self) -> None:
        mapped = _mapper().map(ADAPTER, [_response(revision="r1")], raw=RAW, received_at=NOW)
        [event] = mapped.events
        assert event.data.metadata["raw"] == RAW
        assert event.event_id == event_id_for("typeform", "tok-1", "r1")
        assert event.data.feedback_id == feedback_id_for("typeform", "tok-1")
        assert mapped.outcomes == ["accepted"]

    def test_raw_set_by_the_adapter_is_kept(self) -> None:
        item = _response(metadata={"raw": {"one": "element"}})
        [event] = _mapper().map(ADAPTER, [item], raw=RAW, received_at=NOW).events
        assert event.data.metadata["raw"] == {"one": "element"}

    def test_deletion_is_a_tombstone_with_a_newer_revision(self) -> None:
        deletion = Deletion(
            source_id="tok-1", revision="2026-11-23T10:00:00+00:00", occurred_at=NOW
        )
        mapped = _mapper().map(ADAPTER, [deletion], raw=RAW, received_at=NOW)
        [event] = mapped.events
        assert event.data.deleted is True and event.data.source_kind is SourceKind.survey
        assert event.data.revision_rank == int(NOW.timestamp() * 1_000_000)
        assert event.data.metadata == {"raw": RAW}
        assert mapped.outcomes == ["deleted"]

    def test_fetch_request_becomes_a_pending_envelope_keyed_by_the_item(self) -> None:
        request = FetchRequest(source_id="R_1", delivery_id="d-1", params={"response_id": "R_1"})
        mapped = _mapper().map(ADAPTER, [request, Ignored("x")], raw=RAW, received_at=NOW)
        [pending] = mapped.fetches
        assert pending.key() == str(feedback_id_for("typeform", "R_1")).encode()
        assert (pending.data.envelope, pending.data.params) == (RAW, {"response_id": "R_1"})
        assert pending.topic() == "voc.fetch.pending.v1"
        assert mapped.outcomes == ["fetch_queued", "ignored"] and not mapped.events

    def test_same_notification_twice_is_the_same_pending_event(self) -> None:
        request = FetchRequest(source_id="R_1", delivery_id="d-1")
        first = _mapper().map(ADAPTER, [request], raw=RAW, received_at=NOW).fetches[0]
        again = _mapper().map(ADAPTER, [request], raw=RAW, received_at=NOW).fetches[0]
        assert first.event_id == again.event_id

    def test_source_id_with_a_control_character_is_rejected(self) -> None:
        deletion = Deletion(source_id="a\x1fb", revision="1", occurred_at=NOW)
        with pytest.raises(InvalidPayload) as exc:
            _mapper().map(ADAPTER, [deletion], raw=RAW, received_at=NOW)
        assert first_loc(exc.value) == ["mapped", 0, "source_id"]

    def test_item_of_another_source_is_a_programming_error(self) -> None:
        with pytest.raises(RuntimeError):
            _mapper().map(ADAPTER, [_response(source="delighted")], raw=RAW, received_at=NOW)
