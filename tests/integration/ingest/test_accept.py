"""Accepted items land on the kind's raw topic, keyed and headed, once per version."""

from __future__ import annotations

from uuid import UUID

from shared.events import RawFeedbackEvent
from shared.ids import feedback_id_for
from tests.integration.ingest.conftest import Service


class TestAccept:
    async def test_single_object_is_published_with_key_and_ce_headers(
        self, service: Service, unique: str
    ) -> None:
        item = service.spec.item(f"one-{unique}")
        response = await service.post(item, headers={"X-Request-ID": f"req-{unique}"})

        assert response.status_code == 202, response.text
        body = response.json()
        assert body["accepted"] == 1
        [record] = await service.broker.records(service.spec.topic, body["event_ids"])
        event = RawFeedbackEvent.model_validate_json(record.value)
        headers = dict(record.headers)
        assert record.key == str(feedback_id_for("test", f"one-{unique}")).encode()
        assert headers["ce_id"].decode() == body["event_ids"][0] == str(event.event_id)
        assert headers["ce_type"] == b"voc.feedback.raw"
        assert headers["ce_source"] == service.spec.name.encode()
        assert {"ce_specversion", "ce_time"} <= headers.keys()
        assert event.data.source_kind is service.spec.kind
        assert event.producer == service.spec.name
        assert event.correlation_id == f"req-{unique}"

    async def test_array_is_published_item_by_item_in_request_order(
        self, service: Service, unique: str
    ) -> None:
        items = [service.spec.item(f"arr-{unique}-{n}") for n in range(3)]
        response = await service.post(items)

        assert response.status_code == 202, response.text
        ids = response.json()["event_ids"]
        assert response.json()["accepted"] == 3 and len(set(ids)) == 3
        records = await service.broker.records(service.spec.topic, ids)
        events = {str(e.event_id): e for e in map(_decode, records)}
        assert set(events) == set(ids)
        assert [events[i].data.source_id for i in ids] == [i["source_id"] for i in items]
        # Without X-Request-ID each event correlates to itself.
        assert all(events[i].correlation_id == i for i in ids)

    async def test_resent_item_gets_the_same_event_id(self, service: Service, unique: str) -> None:
        item = service.spec.item(f"dup-{unique}")
        first = await service.post(item)
        again = await service.post([item])

        assert first.status_code == again.status_code == 202
        assert first.json()["event_ids"] == again.json()["event_ids"]
        records = await service.broker.records(service.spec.topic, first.json()["event_ids"])
        assert len(records) == 2  # at-least-once on the wire; consumers dedupe by event id

    async def test_new_revision_is_a_new_event_of_the_same_item(
        self, service: Service, unique: str
    ) -> None:
        v1 = await service.post(service.spec.item(f"rev-{unique}", revision=1))
        v2 = await service.post(service.spec.item(f"rev-{unique}", revision=2))

        assert v1.status_code == v2.status_code == 202
        assert v1.json()["event_ids"] != v2.json()["event_ids"]
        ids = v1.json()["event_ids"] + v2.json()["event_ids"]
        records = await service.broker.records(service.spec.topic, ids)
        assert {r.key for r in records} == {str(feedback_id_for("test", f"rev-{unique}")).encode()}
        assert [_decode(r).data.revision for r in records] == ["1", "2"]

    async def test_metrics_count_accepted_events_by_source(
        self, service: Service, unique: str
    ) -> None:
        source = f"src{unique}"
        items = [service.spec.item(f"m-{unique}-{n}", source=source) for n in range(2)]
        assert (await service.post(items)).status_code == 202

        text = (await service.client.get("/metrics")).text
        name = f"voc_{service.spec.name}_events_accepted_total"
        assert f'{name}{{source="{source}"}} 2.0' in text
        assert f"voc_{service.spec.name}_broker_ack_seconds_count" in text
        assert f"voc_{service.spec.name}_http_requests_total" in text


def _decode(record: object) -> RawFeedbackEvent:
    event = RawFeedbackEvent.model_validate_json(record.value)  # type: ignore[attr-defined]
    assert isinstance(event.event_id, UUID)
    return event
