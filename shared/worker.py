"""The background half of a consumer service (classifier, metrics writer): a producer for its
output and DLQ, and the KafkaRunner, run as one supervised task beside the side HTTP port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Generic, TypeVar

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import BaseModel

from shared.consumer import KafkaRunner
from shared.kafka import create_producer
from shared.settings import KafkaSettings

log = structlog.get_logger(__name__)

E = TypeVar("E", bound=BaseModel)

RunnerFactory = Callable[[AIOKafkaProducer], KafkaRunner[E]]
FatalHook = Callable[[], None]


class ConsumerWorker(Generic[E]):
    """Starts a producer, then runs `build_runner(producer)`; one per lifespan, not restartable.

    The producer is retried in the background while the broker is away, which delays readiness
    instead of failing the process. A runner that ends without being asked to (returned or
    raised) is fatal: `failed` turns true and `on_fatal` runs, so the process can exit non-zero
    and be restarted rather than stay up, healthy-looking and idle. `await stop()` stops
    fetching, gives the batch in flight `shutdown_timeout_s` to finish and commit, then stops
    the producer.
    """

    def __init__(
        self,
        *,
        name: str,
        kafka: KafkaSettings,
        build_runner: RunnerFactory[E],
        shutdown_timeout_s: float,
        on_fatal: FatalHook | None = None,
        client_id: str | None = None,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.name = name
        self.kafka = kafka
        self.build_runner = build_runner
        self.shutdown_timeout_s = shutdown_timeout_s
        self.on_fatal = on_fatal
        self.client_id = client_id or f"{kafka.client_id}-{name}"
        self.max_backoff_s = max_backoff_s
        self._producer: AIOKafkaProducer | None = None
        self._runner: KafkaRunner[E] | None = None
        self._task: asyncio.Task[None] | None = None
        self._failed = False
        self._stopping = asyncio.Event()

    @property
    def ready(self) -> bool:
        """The runner's consumer is started and nothing has gone wrong or asked it to stop."""
        return not self._failed and self._runner is not None and self._runner.ready

    @property
    def failed(self) -> bool:
        """The runner ended without being asked to; the process should exit non-zero."""
        return self._failed

    @property
    def runner(self) -> KafkaRunner[E] | None:
        return self._runner

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError(f"worker {self.name} was already started")
        self._task = asyncio.create_task(self._run(), name=f"{self.name}-worker")
        self._task.add_done_callback(self._on_done)

    async def stop(self) -> None:
        """Stop fetching, let the current batch finish and commit, then stop the producer."""
        self._stopping.set()
        if self._runner is not None:
            self._runner.stop()
        if self._task is not None:
            # asyncio.wait, not wait_for: its timeout leaves the task alone, so a batch that is
            # about to finish in time is not cancelled by the wait itself.
            done, _ = await asyncio.wait({self._task}, timeout=self.shutdown_timeout_s)
            if not done:
                log.warning(
                    "worker.shutdown_timeout", worker=self.name, seconds=self.shutdown_timeout_s
                )
                self._task.cancel()
                await asyncio.wait({self._task})
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def _run(self) -> None:
        self._producer = await self._start_producer()
        if self._producer is None or self._stopping.is_set():
            return
        self._runner = self.build_runner(self._producer)
        await self._runner.run()

    async def _start_producer(self) -> AIOKafkaProducer | None:
        """A started producer, retrying with backoff; None if asked to stop first."""
        attempt = 0
        while not self._stopping.is_set():
            producer = create_producer(self.kafka, client_id=self.client_id)
            try:
                await producer.start()
                return producer
            except KafkaError as exc:
                await producer.stop()
                attempt += 1
                log.warning(
                    "worker.producer_start_failed",
                    worker=self.name,
                    error=type(exc).__name__,
                    attempt=attempt,
                )
            delay = min(self.max_backoff_s, 0.2 * 2 ** min(attempt, 10))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
        return None

    def _on_done(self, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        # After stop(), returning or being cancelled by the shutdown timeout is the expected end;
        # an exception is still a failure (the batch may not have committed).
        if self._stopping.is_set() and error is None:
            return
        reason = "cancelled" if task.cancelled() else "returned without being stopped"
        log.error(
            "worker.runner_died",
            worker=self.name,
            error=type(error).__name__ if error else None,
            message=str(error)[:300] if error else reason,
            exc_info=error,
        )
        self._failed = True
        if self.on_fatal is not None:
            self.on_fatal()
