"""The consumer runner: batch fetch, decode, dispatch, dead-letter, retry, commit, shutdown.

Handlers stay thin: they take a batch of decoded events and perform one side effect (produce
downstream, or one DB transaction). The runner commits offsets only after that side effect and
the dead-lettering of poison records both succeeded, so a crash at any point replays the batch
and loses nothing; idempotent handlers make the replay harmless.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import BaseModel, ValidationError

from shared.events import DLQ_TOPIC
from shared.settings import KafkaSettings
from shared.telemetry import ConsumerMetrics

log = structlog.get_logger(__name__)

E = TypeVar("E", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Consumed(Generic[E]):
    record: ConsumerRecord  # type: ignore[type-arg]
    event: E


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record the handler found invalid: it goes to the DLQ instead of being retried."""

    record: ConsumerRecord  # type: ignore[type-arg]
    reason: str
    error: str


def dead_letter_headers(
    rec: ConsumerRecord,  # type: ignore[type-arg]
    reason: str,
    error: str,
    group_id: str,
) -> list[tuple[str, bytes]]:
    """The original headers plus why and where from: enough for an operator to replay."""
    return [
        *(rec.headers or ()),
        ("dlq_reason", reason.encode()),
        ("dlq_error", error.encode()),
        ("dlq_source_topic", rec.topic.encode()),
        ("dlq_source_partition", str(rec.partition).encode()),
        ("dlq_source_offset", str(rec.offset).encode()),
        ("dlq_consumer_group", group_id.encode()),
        ("dlq_failed_at", datetime.now(UTC).isoformat().encode()),
    ]


BatchHandler = Callable[[list[Consumed[E]]], Awaitable[Sequence[Rejected] | None]]


class KafkaRunner(Generic[E]):
    def __init__(
        self,
        *,
        settings: KafkaSettings,
        group_id: str,
        topics: Sequence[str],
        event_type: type[E],
        handler: BatchHandler[E],
        dlq_producer: AIOKafkaProducer,
        metrics: ConsumerMetrics,
        max_batch: int | None = None,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.settings = settings
        self.group_id = group_id
        self.topics = list(topics)
        self.event_type = event_type
        self.handler = handler
        self.dlq_producer = dlq_producer
        self.metrics = metrics
        self.max_batch = max_batch or settings.max_poll_records
        self.max_backoff_s = max_backoff_s
        self._stopping = asyncio.Event()
        self.consumer: AIOKafkaConsumer | None = None
        self.started = False

    def stop(self) -> None:
        """Ask the loop to finish its current batch, commit and return."""
        self._stopping.set()

    @property
    def ready(self) -> bool:
        return self.started and not self._stopping.is_set()

    def _new_consumer(self) -> AIOKafkaConsumer:
        s = self.settings
        return AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=s.bootstrap_servers,
            group_id=self.group_id,
            client_id=f"{s.client_id}-{self.group_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
            request_timeout_ms=max(s.request_timeout_ms, s.session_timeout_ms // 2 + 1000),
            max_poll_records=self.max_batch,
        )

    async def _start_consumer(self) -> AIOKafkaConsumer:
        attempt = 0
        while True:
            consumer = self._new_consumer()
            try:
                await consumer.start()
                return consumer
            except KafkaError as exc:
                await consumer.stop()
                attempt += 1
                log.warning("consumer.start_failed", error=type(exc).__name__, attempt=attempt)
                if await self._sleep_or_stop(self._backoff(attempt)):
                    raise asyncio.CancelledError from exc

    def _backoff(self, attempt: int) -> float:
        return min(self.max_backoff_s, 0.2 * 2 ** min(attempt, 10))

    async def _sleep_or_stop(self, seconds: float) -> bool:
        """Sleep, waking early on stop; True when stopping."""
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def run(self) -> None:
        try:
            self.consumer = await self._start_consumer()
        except asyncio.CancelledError:
            return
        self.started = True
        log.info("consumer.started", group=self.group_id, topics=self.topics)
        try:
            while not self._stopping.is_set():
                fetched = await self.consumer.getmany(
                    timeout_ms=self.settings.fetch_timeout_ms, max_records=self.max_batch
                )
                records = [r for part in fetched.values() for r in part]
                if records and not await self._process(records):
                    break  # stopping while the side effect still failed: do not commit
                await self._update_lag()
        finally:
            self.started = False
            await self.consumer.stop()
            log.info("consumer.stopped", group=self.group_id)

    def _decode(
        self,
        records: list[ConsumerRecord],  # type: ignore[type-arg]
    ) -> tuple[list[Consumed[E]], list[Rejected]]:
        good: list[Consumed[E]] = []
        bad: list[Rejected] = []
        for rec in records:
            self.metrics.consumed.labels(rec.topic).inc()
            if not rec.value:
                bad.append(Rejected(rec, "undecodable", "empty value"))
                continue
            try:
                good.append(Consumed(rec, self.event_type.model_validate_json(rec.value)))
            except ValidationError as exc:
                # Invalid JSON is reported by pydantic as a json_invalid error.
                reason = (
                    "undecodable"
                    if any(e["type"] == "json_invalid" for e in exc.errors())
                    else "invalid"
                )
                detail = "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]
                )
                bad.append(Rejected(rec, reason, detail[:1000]))
        return good, bad

    async def _process(self, records: list[ConsumerRecord]) -> bool:  # type: ignore[type-arg]
        """Handle one batch to completion; False if stopping interrupted the retries."""
        started = time.perf_counter()
        good, bad = self._decode(records)
        attempt = 0
        while good:
            try:
                bad.extend(await self.handler(good) or [])
                break
            except Exception as exc:  # transient by assumption: retried, never skipped
                attempt += 1
                self.metrics.errors.labels(type(exc).__name__).inc()
                log.warning(
                    "consumer.batch_failed",
                    group=self.group_id,
                    error=type(exc).__name__,
                    message=str(exc)[:300],
                    attempt=attempt,
                    records=len(good),
                )
                if await self._sleep_or_stop(self._backoff(attempt)):
                    return False
        if bad and not await self._dead_letter(bad):
            return False
        dead = {(r.record.topic, r.record.partition, r.record.offset) for r in bad}
        for rec in records:
            outcome = "dead_lettered" if (rec.topic, rec.partition, rec.offset) in dead else "ok"
            self.metrics.processed.labels(rec.topic, outcome).inc()
        self.metrics.batch_size.observe(len(records))
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        await self._commit(records)
        return True

    async def _dead_letter(self, rejected: list[Rejected]) -> bool:
        attempt = 0
        while True:
            try:
                futures = []
                for item in rejected:
                    rec = item.record
                    headers = dead_letter_headers(rec, item.reason, item.error, self.group_id)
                    futures.append(
                        await self.dlq_producer.send(
                            DLQ_TOPIC, value=rec.value or b"", key=rec.key, headers=headers
                        )
                    )
                await asyncio.gather(*futures)
            except KafkaError as exc:
                attempt += 1
                log.warning("consumer.dlq_failed", error=type(exc).__name__, attempt=attempt)
                if await self._sleep_or_stop(self._backoff(attempt)):
                    return False
                continue
            for item in rejected:
                self.metrics.dlq.labels(item.record.topic, item.reason).inc()
                log.warning(
                    "consumer.dead_lettered",
                    topic=item.record.topic,
                    partition=item.record.partition,
                    offset=item.record.offset,
                    reason=item.reason,
                )
            return True

    async def _commit(self, records: list[ConsumerRecord]) -> None:  # type: ignore[type-arg]
        assert self.consumer is not None
        offsets: dict[TopicPartition, int] = {}
        for rec in records:
            tp = TopicPartition(rec.topic, rec.partition)
            offsets[tp] = max(offsets.get(tp, 0), rec.offset + 1)
        try:
            # Bounded: committing to a partition the broker no longer has retries forever.
            async with asyncio.timeout(self.settings.commit_timeout_s):
                await self.consumer.commit(offsets)
            self.metrics.commits.labels("ok").inc()
        except (KafkaError, TimeoutError) as exc:
            # The batch's side effect is done and idempotent; a failed commit only means the
            # next owner of these partitions replays it.
            self.metrics.commits.labels("failed").inc()
            log.warning("consumer.commit_failed", error=type(exc).__name__)

    async def _update_lag(self) -> None:
        assert self.consumer is not None
        # end_offsets() is wrong on the embedded broker; highwater from fetches is right.
        for tp in self.consumer.assignment():
            hw = self.consumer.highwater(tp)
            if hw is None:
                continue
            try:
                pos = await self.consumer.position(tp)
            except KafkaError:
                continue
            self.metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, hw - pos))
