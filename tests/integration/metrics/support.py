"""Helpers for the metrics writer's integration tests: produce, read back, break the DB link."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.embedded import free_port
from shared.events import DLQ_TOPIC, EnrichedFeedbackEvent
from shared.kafka import encode_event
from shared.settings import KafkaSettings
from shared.tables import ROLLUP_MEASURES, feedback_facts, score_rollups
from tests.helpers import eventually

PARTITIONS = 3


async def produce(
    producer: AIOKafkaProducer, topic: str, events: Sequence[EnrichedFeedbackEvent | bytes]
) -> dict[int, int]:
    """Send in order; returns the end offset (last offset + 1) per partition written."""
    futures = []
    for item in events:
        if isinstance(item, bytes):
            futures.append(await producer.send(topic, value=item, key=b"poison"))
        else:
            key, value, headers = encode_event(item)
            futures.append(await producer.send(topic, value=value, key=key, headers=headers))
    ends: dict[int, int] = {}
    for meta in await asyncio.gather(*futures):
        ends[meta.partition] = max(ends.get(meta.partition, 0), meta.offset + 1)
    return ends


async def committed(kafka_settings: KafkaSettings, group: str, topic: str) -> dict[int, int]:
    """The group's committed offsets on `topic` (partitions without a commit are left out)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_settings.bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        out = {}
        for p in range(PARTITIONS):
            offset = await consumer.committed(TopicPartition(topic, p))
            if offset is not None:
                out[p] = offset
        return out
    finally:
        await consumer.stop()


async def rollup_totals(engine: AsyncEngine, *group_by: str) -> dict[Any, dict[str, float]]:
    """SUM of every measure, grouped by the named columns (a tuple key; () for the total)."""
    cols = [score_rollups.c[g] for g in group_by]
    sums = [func.coalesce(func.sum(score_rollups.c[m]), 0).label(m) for m in ROLLUP_MEASURES]
    stmt = select(*cols, *sums).group_by(*cols)
    async with engine.connect() as conn:
        rows = (await conn.execute(stmt)).mappings().all()
    return {
        tuple(row[g] for g in group_by): {m: row[m] for m in ROLLUP_MEASURES}
        for row in rows
        if any(row[m] for m in ROLLUP_MEASURES)
    }


async def fact_rows(engine: AsyncEngine) -> dict[str, dict[str, Any]]:
    """Stored facts by source_id."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(feedback_facts))).mappings().all()
    return {row["source_id"]: dict(row) for row in rows}


async def counter_total(counter: Any) -> float:
    return sum(s.value for m in counter.collect() for s in m.samples if s.name.endswith("_total"))


def header(record: ConsumerRecord, name: str) -> str:  # type: ignore[type-arg]
    return next(v.decode() for k, v in record.headers if k == name)


async def dlq_from(bootstrap: str, source_topic: str, count: int) -> list[ConsumerRecord]:  # type: ignore[type-arg]
    """DLQ records that came from `source_topic` (the DLQ is shared by every test)."""
    consumer = AIOKafkaConsumer(
        DLQ_TOPIC,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    got: list[ConsumerRecord] = []  # type: ignore[type-arg]

    async def probe() -> int:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            got.extend(r for r in records if header(r, "dlq_source_topic") == source_topic)
        return len(got)

    try:
        await eventually(probe, lambda n: n >= count, timeout_s=30, interval_s=0)
    finally:
        await consumer.stop()
    return got


class TcpProxy:
    """A TCP forwarder to PostgreSQL that refuses connections until started: a DB outage."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for w in self.writers:
            w.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
