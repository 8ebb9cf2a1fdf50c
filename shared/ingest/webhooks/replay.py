"""Replay dead-lettered fetches: `python -m shared.ingest.webhooks.replay [--vendor V]`.

Reads `voc.dlq.v1` with its own consumer group, takes the records the fetch worker dead-lettered
(header `dlq_source_topic` = `voc.fetch.pending.v1`), and puts their envelopes back on the
pending topic, where the fetch worker tries again. Offsets are committed after the broker
acknowledged the re-published envelopes, so a re-run only replays what arrived since; a replay
that lands twice is harmless (event ids are deterministic). Records of other vendors or other
sources are skipped and committed past, so a vendor filter gets a group of its own.

Each run tags what it republishes with a `replay_run` header, which the dead-letter step keeps.
A record carrying this run's own tag was replayed and failed again during this run: the run
stops reading that partition there (without committing it), so a permanently failing fetch is
replayed once per run instead of cycling until the process is killed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from dataclasses import dataclass

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from shared.events import DLQ_TOPIC
from shared.ingest.webhooks.pending import FetchPendingEvent
from shared.kafka import create_producer
from shared.settings import KafkaSettings

log = structlog.get_logger(__name__)

SOURCE = FetchPendingEvent.TOPIC.encode()


@dataclass
class ReplayReport:
    replayed: int = 0
    skipped: int = 0  # other sources, other vendors, undecodable


def _replayable(rec: ConsumerRecord, vendor: str | None) -> bool:  # type: ignore[type-arg]
    headers = dict(rec.headers or ())
    if headers.get("dlq_source_topic") != SOURCE or not rec.value:
        return False
    if vendor is None:
        return True
    try:
        return FetchPendingEvent.model_validate_json(rec.value).data.vendor == vendor
    except ValidationError:
        return False


async def replay_fetches(
    kafka: KafkaSettings,
    *,
    vendor: str | None = None,
    group_id: str | None = None,
    idle_s: float = 3.0,
    join_timeout_s: float = 60.0,
    dry_run: bool = False,
) -> ReplayReport:
    """Re-publish dead-lettered fetch envelopes; stop after `idle_s` without new DLQ records."""
    consumer = AIOKafkaConsumer(
        DLQ_TOPIC,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=group_id or f"voc-fetch-replay-{vendor or 'all'}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=kafka.session_timeout_ms,
        heartbeat_interval_ms=kafka.heartbeat_interval_ms,
        request_timeout_ms=max(kafka.request_timeout_ms, kafka.session_timeout_ms // 2 + 1000),
    )
    producer = create_producer(kafka, "voc-fetch-replay")
    report = ReplayReport()
    run_id = uuid.uuid4().hex.encode()
    caught_up: set[TopicPartition] = set()  # partitions where this run's own replays came back
    await consumer.start()
    await producer.start()
    try:
        quiet_since = time.monotonic()
        join_deadline = quiet_since + join_timeout_s
        while time.monotonic() - quiet_since < idle_s:
            fetched = await consumer.getmany(timeout_ms=500)
            records = [r for part in fetched.values() for r in part]
            if not consumer.assignment():
                if time.monotonic() > join_deadline:
                    raise TimeoutError(f"no partition of {DLQ_TOPIC} assigned")
                quiet_since = time.monotonic()  # still joining the group: not idle yet
                continue
            if not records:
                continue
            quiet_since = time.monotonic()
            futures = []
            done: list[ConsumerRecord] = []  # type: ignore[type-arg]
            for rec in records:
                tp = TopicPartition(rec.topic, rec.partition)
                if tp in caught_up:
                    continue
                if dict(rec.headers or ()).get("replay_run") == run_id:
                    caught_up.add(tp)
                    consumer.pause(tp)
                    continue
                done.append(rec)
                if not _replayable(rec, vendor):
                    report.skipped += 1
                    continue
                report.replayed += 1
                if dry_run:
                    continue
                headers = [
                    (k, v)
                    for k, v in rec.headers or ()
                    if not k.startswith("dlq_") and k not in ("replay_run", "replayed_from")
                ]
                headers.append(
                    ("replayed_from", f"{rec.topic}/{rec.partition}/{rec.offset}".encode())
                )
                headers.append(("replay_run", run_id))
                futures.append(
                    await producer.send(
                        FetchPendingEvent.TOPIC, value=rec.value, key=rec.key, headers=headers
                    )
                )
            await asyncio.gather(*futures)
            if not dry_run and done:
                offsets: dict[TopicPartition, int] = {}
                for rec in done:
                    tp = TopicPartition(rec.topic, rec.partition)
                    offsets[tp] = max(offsets.get(tp, 0), rec.offset + 1)
                await consumer.commit(offsets)
    finally:
        await producer.stop()
        await consumer.stop()
    log.info("webhook.replayed", replayed=report.replayed, skipped=report.skipped, vendor=vendor)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("VOC_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        help="Kafka bootstrap servers (default: $VOC_KAFKA_BOOTSTRAP)",
    )
    parser.add_argument("--vendor", help="only this vendor's envelopes")
    parser.add_argument("--group", help="consumer group (default voc-fetch-replay-<vendor|all>)")
    parser.add_argument("--dry-run", action="store_true", help="count, publish and commit nothing")
    args = parser.parse_args(argv)
    report = asyncio.run(
        replay_fetches(
            KafkaSettings(bootstrap_servers=args.bootstrap),
            vendor=args.vendor,
            group_id=args.group,
            dry_run=args.dry_run,
        )
    )
    print(f"replayed {report.replayed} envelope(s), skipped {report.skipped} record(s)")


if __name__ == "__main__":
    main()
