"""The importer's bookkeeping against an in-memory ingestion endpoint: every record is
accounted for once, as accepted, duplicate, skipped or rejected."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from services.importer.client import IngestClient
from services.importer.records import Record
from services.importer.service import Batching, Importer
from services.importer.settings import RetrySettings
from services.importer.summary import Summary

MAX_ERRORS = 2  # the fake names at most this many bad items per answer, as the real one caps


class FakeService:
    """Accepts items unless they carry "bad"; 413 above `max_items`; 503 while `down`."""

    def __init__(self, max_items: int = 1000, down: int = 0) -> None:
        self.max_items = max_items
        self.down = down
        self.received: list[list[dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"status": "ok"})
        items = orjson.loads(request.content)
        self.received.append(items)
        if self.down:
            self.down -= 1
            return httpx.Response(
                503, json={"error": "broker_unavailable"}, headers={"Retry-After": "1"}
            )
        if len(items) > self.max_items:
            return httpx.Response(413, json={"error": "payload_too_large", "detail": "too many"})
        bad = [i for i, item in enumerate(items) if "bad" in item][:MAX_ERRORS]
        if bad:
            detail = [{"loc": ["body", i, "nps"], "msg": "too big"} for i in bad]
            return httpx.Response(422, json={"error": "validation_error", "detail": detail})
        ids = [f"e-{item['source_id']}" for item in items]
        return httpx.Response(202, json={"accepted": len(items), "event_ids": ids})


async def _run(
    records: list[Record], service: FakeService, size: int = 10, **batching: Any
) -> tuple[Summary, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    http = httpx.AsyncClient(transport=httpx.MockTransport(service), base_url="http://svc")
    retry = RetrySettings(max_attempts=3)
    client = IngestClient(http, "/v1/responses", retry, sleep=sleep)
    knobs = {"size": size, "max_bytes": 1_000_000, "concurrency": 1, **batching}
    summary = Summary(file="f", kind="surveys", format="jsonl")
    return await Importer(client, Batching(**knobs), summary).run(records), slept


def _line(n: int, line: int | None = None, **fields: Any) -> Record:
    """Item `s-<n>` on line `line` (default: n)."""
    item = {"source": "t", "source_id": f"s-{n}", "occurred_at": "2025-01-01T00:00:00Z", **fields}
    return Record.at_line(line or n, item=item)


def _accounted(summary: Summary) -> int:
    done = summary.accepted + len(summary.duplicates) + summary.skipped.total()
    return done + len(summary.rejected)


class TestImporter:
    async def test_records_are_sent_in_batches_of_the_configured_size(self) -> None:
        service = FakeService()

        summary, _ = await _run([_line(n) for n in range(1, 26)], service, size=10)

        assert [len(batch) for batch in service.received] == [10, 10, 5]
        assert (summary.read, summary.accepted, summary.exit_code()) == (25, 25, 0)

    async def test_batches_also_close_at_the_byte_limit(self) -> None:
        service = FakeService()
        records = [_line(n, comment="x" * 400) for n in range(1, 6)]

        await _run(records, service, size=1000, max_bytes=1000)

        assert [len(batch) for batch in service.received] == [2, 2, 1]

    async def test_same_identity_twice_in_the_file_is_sent_once_and_reported(self) -> None:
        service = FakeService()
        records = [
            _line(1),
            _line(2),
            _line(3, revision="2"),
            _line(1, line=4),
            _line(3, line=5, revision="2"),
        ]

        summary, _ = await _run(records, service)

        assert [i["source_id"] for i in service.received[0]] == ["s-1", "s-2", "s-3"]
        assert [(d.where, d.first) for d in summary.duplicates] == [
            ("line 4", "line 1"),
            ("line 5", "line 3"),
        ]
        assert summary.accepted == 3 and summary.exit_code() == 0

    async def test_new_revision_of_an_item_is_not_a_duplicate(self) -> None:
        summary, _ = await _run([_line(1, revision="1"), _line(1, revision="2")], FakeService())

        assert (summary.accepted, summary.duplicates) == (2, [])

    async def test_batch_is_resent_without_named_items_until_the_rest_lands(self) -> None:
        service = FakeService()
        records = [_line(n, bad=True) if n % 3 == 0 else _line(n) for n in range(1, 11)]

        summary, _ = await _run(records, service, size=10)

        # Three bad items, at most two named per answer: three requests.
        assert [len(batch) for batch in service.received] == [10, 8, 7]
        assert [(r.line, r.reason) for r in summary.sorted_rejections()] == [
            (3, "nps: too big"),
            (6, "nps: too big"),
            (9, "nps: too big"),
        ]
        assert summary.accepted == 7 and summary.exit_code() == 1

    async def test_batch_over_the_item_limit_is_halved_until_it_fits(self) -> None:
        service = FakeService(max_items=3)

        summary, _ = await _run([_line(n) for n in range(1, 11)], service, size=10)

        assert summary.accepted == 10 and summary.rejected == []
        assert [len(b) for b in service.received] == [10, 5, 2, 3, 5, 2, 3]

    async def test_local_errors_and_skips_are_counted_without_sending(self) -> None:
        records = [
            Record.at_line(1, error="invalid JSON"),
            Record(where="reviews[1]", skip="no user comment"),
            _line(3),
        ]
        service = FakeService()

        summary, _ = await _run(records, service)

        assert len(service.received) == 1 and len(service.received[0]) == 1
        assert [(r.where, r.reason) for r in summary.rejected] == [("line 1", "invalid JSON")]
        assert dict(summary.skipped) == {"no user comment": 1}
        assert _accounted(summary) == summary.read == 3

    async def test_service_down_through_every_retry_stops_the_run_with_exit_2(self) -> None:
        service = FakeService(down=100)

        summary, slept = await _run([_line(n) for n in range(1, 16)], service, size=5)

        assert summary.aborted is not None and "failed 3 times" in summary.aborted
        assert slept == [1.0, 1.0]
        assert summary.accepted == 0 and summary.rejected == []
        assert summary.unsent == summary.read > 0  # read, never answered: re-run them
        assert summary.exit_code() == 2

    async def test_brief_outage_is_retried_and_nothing_is_lost(self) -> None:
        service = FakeService(down=2)

        summary, slept = await _run([_line(n) for n in range(1, 4)], service)

        assert (summary.accepted, summary.retries, slept) == (3, 2, [1.0, 1.0])

    async def test_concurrent_batches_account_for_every_record(self) -> None:
        service = FakeService()
        records = [_line(n, bad=True) if n % 7 == 0 else _line(n) for n in range(1, 101)]

        summary, _ = await _run(records, service, size=8, concurrency=4)

        assert summary.accepted == 86 and len(summary.rejected) == 14
        assert _accounted(summary) == summary.read == 100
