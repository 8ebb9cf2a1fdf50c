"""Kafka plumbing: producer factory, event encoding, topic bootstrap.

Every message is the JSON envelope as value, the feedback_id as key, and CloudEvents-style
`ce_*` headers so routing and logs never need to decode the body.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.errors import BrokerUnavailable
from shared.events import Envelope, all_topics
from shared.settings import KafkaSettings

Headers = list[tuple[str, bytes]]


def event_headers(event: Envelope) -> Headers:  # type: ignore[type-arg]
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(event.event_id).encode()),
        ("ce_type", event.type.encode()),
        ("ce_source", event.producer.encode()),
        ("ce_time", event.produced_at.isoformat().encode()),
        ("content-type", b"application/json"),
    ]


def encode_event(event: Envelope) -> tuple[bytes, bytes, Headers]:  # type: ignore[type-arg]
    """(key, value, headers) for one event."""
    return event.key(), event.model_dump_json().encode(), event_headers(event)


def create_producer(settings: KafkaSettings, client_id: str) -> AIOKafkaProducer:
    """A producer that only reports success once every in-sync replica has the write."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.enable_idempotence,
        compression_type=settings.compression_type,
        linger_ms=settings.linger_ms,
        request_timeout_ms=settings.request_timeout_ms,
    )


async def publish(
    producer: AIOKafkaProducer,
    events: Sequence[tuple[str, Envelope]],  # type: ignore[type-arg]
    *,
    timeout_s: float,
) -> None:
    """Send (topic, event) pairs and wait until the broker acknowledged all of them.

    Raises BrokerUnavailable when any write fails or the acks do not arrive within `timeout_s`.
    A timed-out write may still land later; that is safe because consumers dedupe by event_id.
    """
    try:
        async with asyncio.timeout(timeout_s):
            futures = []
            for topic, event in events:
                key, value, headers = encode_event(event)
                futures.append(await producer.send(topic, value=value, key=key, headers=headers))
            await asyncio.gather(*futures)
    except (TimeoutError, KafkaError) as exc:
        raise BrokerUnavailable(type(exc).__name__) from exc


async def ensure_topics(
    settings: KafkaSettings,
    *,
    partitions: int = 6,
    replication_factor: int = 1,
    topics: Sequence[str] | None = None,
) -> list[str]:
    """Create the pipeline's topics if missing; returns the ones it created.

    Topics must be created explicitly: a produce to a missing topic auto-creates it with the
    broker's default partition count, which is not what we scale by.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        request_timeout_ms=settings.request_timeout_ms,
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in (topics or all_topics()) if t not in existing]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(t, partitions, replication_factor) for t in wanted]
                )
        return wanted
    finally:
        await admin.close()
