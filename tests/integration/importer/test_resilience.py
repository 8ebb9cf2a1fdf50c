"""The importer against services that cannot take a batch as sent: too large, or no broker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from shared.embedded import EmbeddedBroker, free_port
from shared.events import RawFeedbackEvent
from shared.kafka import ensure_topics
from tests.helpers import eventually
from tests.integration.importer.conftest import (
    Ingestion,
    app_for,
    kafka_settings_for,
    running,
)
from tests.integration.importer.test_import import survey, write_jsonl


async def _rejected_for_broker(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    prefix = 'voc_surveys_requests_rejected_total{reason="broker_unavailable"} '
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(lines[0].removeprefix(prefix)) if lines else 0.0


class TestResilience:
    async def test_batch_over_the_services_item_limit_is_split_until_it_fits(
        self, ingestion: Ingestion, tmp_path: Path, unique: str
    ) -> None:
        source = f"split{unique}"
        path = write_jsonl(tmp_path / "split.jsonl", [survey(source, n) for n in range(12)])
        app = app_for("surveys", ingestion.kafka, max_items=5)

        async with running(app) as client:
            summary = await ingestion.import_file(
                path, "jsonl", "surveys", client=client, batch_size=12
            )

        assert (summary.accepted, summary.rejected, summary.exit_code()) == (12, [], 0)
        assert summary.batches > 1
        events = await ingestion.events("surveys", source)
        assert sorted(e.data.source_id for e in events) == sorted(f"s-{n}" for n in range(12))

    async def test_import_waits_out_a_broker_outage_and_then_lands_everything(
        self, tmp_path: Path, unique: str
    ) -> None:
        # The service starts before its broker: it answers 503 + Retry-After until the broker
        # is up, and the importer retries the same batch until then.
        port = free_port()
        kafka = kafka_settings_for(f"127.0.0.1:{port}")
        app = app_for("surveys", kafka, startup_wait_s=0.0, connect_retry_max_s=0.3)
        source = f"outage{unique}"
        path = write_jsonl(tmp_path / "o.jsonl", [survey(source, n) for n in range(3)])
        ingestion = Ingestion(kafka, {})
        broker = EmbeddedBroker(port)
        try:
            async with running(app) as client:
                task = asyncio.create_task(
                    ingestion.import_file(path, "jsonl", "surveys", client=client)
                )
                await eventually(lambda: _rejected_for_broker(client), lambda n: n >= 1)
                broker.start()
                await ensure_topics(kafka, topics=RawFeedbackEvent.topics())
                summary = await asyncio.wait_for(task, timeout=60)
            events = await ingestion.events("surveys", source)
        finally:
            broker.stop()

        assert (summary.accepted, summary.exit_code()) == (3, 0)
        assert summary.retries >= 1
        assert sorted(e.data.source_id for e in events) == ["s-0", "s-1", "s-2"]
