"""The ingestion service's one producer: connected in the background, probed for readiness."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiokafka import AIOKafkaProducer

from shared.errors import BrokerUnavailable
from shared.kafka import create_producer
from shared.settings import KafkaSettings

log = structlog.get_logger(__name__)

READY_PROBE_TIMEOUT_S = 1.0


class BrokerLink:
    """Owns the producer. `start` never fails: while the broker is unreachable it keeps trying in
    a background task, and `producer()` raises BrokerUnavailable so requests fail fast."""

    def __init__(
        self, settings: KafkaSettings, *, client_id: str, retry_max_s: float = 5.0
    ) -> None:
        self.settings = settings
        self.client_id = client_id
        self.retry_max_s = retry_max_s
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._first_attempt = asyncio.Event()
        self._connected = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self._producer is not None

    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise BrokerUnavailable("not connected to the broker yet")
        return self._producer

    async def wait_connected(self) -> AIOKafkaProducer:
        """The producer, once connected (background work that needs it waits here)."""
        await self._connected.wait()
        return self.producer()

    async def start(self, wait_s: float) -> None:
        """Begin connecting; wait up to `wait_s` for the first attempt's outcome, then return
        whatever it was (a refused connection fails fast, a black-holed one takes the timeout)."""
        self._task = asyncio.create_task(self._connect(), name=f"{self.client_id}.broker-connect")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_s):
                await self._first_attempt.wait()
        if not self.connected:
            log.warning("ingest.broker_unreachable", bootstrap=self.settings.bootstrap_servers)

    async def _connect(self) -> None:
        delay = 0.2
        attempt = 0
        while True:
            attempt += 1
            producer = create_producer(self.settings, self.client_id)
            try:
                await producer.start()
            except asyncio.CancelledError:
                await _close_quietly(producer)
                raise
            except Exception as exc:  # lifespan machinery: any failure means "try again later"
                log.info("ingest.broker_connect_failed", attempt=attempt, error=type(exc).__name__)
                await _close_quietly(producer)
                self._first_attempt.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)
                continue
            self._producer = producer
            self._connected.set()
            self._first_attempt.set()
            log.info("ingest.broker_connected", attempt=attempt)
            return

    async def ready(self) -> bool:
        """True when the producer is started and can reach a broker right now."""
        if self._producer is None:
            return False
        client = self._producer.client
        try:
            async with asyncio.timeout(READY_PROBE_TIMEOUT_S):
                for broker in client.cluster.brokers():
                    if await client.ready(broker.nodeId):
                        return True
        except TimeoutError:
            return False
        return False

    async def stop(self, timeout_s: float) -> None:
        """Stop connecting; flush pending writes (bounded by `timeout_s`) and close."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            async with asyncio.timeout(timeout_s):
                await producer.flush()
        except TimeoutError:
            log.warning("ingest.producer_flush_timed_out", timeout_s=timeout_s)
        # Writes the broker never took expire after request_timeout_ms, so stop() returns by then;
        # abandoning it earlier would leave the client reconnecting for the life of the process.
        try:
            async with asyncio.timeout(self.settings.request_timeout_ms / 1000 + 1):
                await producer.stop()
            log.info("ingest.producer_stopped")
        except TimeoutError:
            log.error("ingest.producer_stop_timed_out")


async def _close_quietly(producer: AIOKafkaProducer) -> None:
    with contextlib.suppress(Exception):
        await producer.stop()
