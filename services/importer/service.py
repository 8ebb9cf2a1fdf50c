"""The import itself: records in, batches out, every record accounted for in the summary.

Knows no argparse and no file names. Duplicates within the file (same source, source id and
revision) are reported and sent once; a batch the service finds invalid is re-sent without the
items it named (it names at most 50 per answer, so this can take a few rounds); a batch over the
service's size limit is halved.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import structlog

from services.importer.client import Accepted, IngestClient, TooLarge, encode
from services.importer.errors import ImporterError
from services.importer.records import Record, identity
from services.importer.summary import Duplicate, Rejection, Summary

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Batching:
    size: int  # items per request
    max_bytes: int  # request body size
    concurrency: int  # requests in flight


@dataclass(frozen=True)
class Pending:
    seq: int
    record: Record
    body: bytes  # the item, JSON-encoded once


def _no_progress(_: int) -> None:
    return None


class Importer:
    def __init__(
        self,
        client: IngestClient,
        batching: Batching,
        summary: Summary,
        progress: Callable[[int], object] = _no_progress,
    ) -> None:
        self.client = client
        self.batching = batching
        self.summary = summary
        self.progress = progress
        self._seen: dict[bytes, str] = {}  # event id -> where it was first seen

    async def run(self, records: Iterable[Record]) -> Summary:
        """Send every record; a fatal error stops the run and is recorded as `aborted`."""
        started = time.perf_counter()
        log.info("import.started", kind=self.summary.kind, format=self.summary.format)
        try:
            await self._run(records)
        except* (ImporterError, OSError) as group:
            self.summary.aborted = str(group.exceptions[0])
        self.summary.retries = self.client.retries
        self.summary.elapsed_s = time.perf_counter() - started
        log.info(
            "import.finished",
            read=self.summary.read,
            accepted=self.summary.accepted,
            rejected=len(self.summary.rejected),
            aborted=self.summary.aborted is not None,
        )
        return self.summary

    async def _run(self, records: Iterable[Record]) -> None:
        await self.client.check()
        slots = asyncio.Semaphore(self.batching.concurrency)
        async with asyncio.TaskGroup() as tasks:

            async def dispatch(batch: list[Pending]) -> None:
                # Waiting for a slot before reading on keeps memory flat on huge files.
                await slots.acquire()
                tasks.create_task(self._send_then_release(batch, slots))

            batch: list[Pending] = []
            size = 2  # the array's brackets
            for seq, record in enumerate(records):
                self.summary.read += 1
                pending = self._admit(seq, record)
                if pending is None:
                    continue
                full = len(batch) >= self.batching.size
                if batch and (full or size + len(pending.body) + 1 > self.batching.max_bytes):
                    await dispatch(batch)
                    batch, size = [], 2
                batch.append(pending)
                size += len(pending.body) + 1
            if batch:
                await dispatch(batch)

    def _admit(self, seq: int, record: Record) -> Pending | None:
        """The record ready to send, or None once it is counted as skipped, rejected or seen."""
        if record.skip is not None:
            self.summary.skipped[record.skip] += 1
        elif record.item is None:
            self._reject(seq, record, record.error or "nothing to import")
        else:
            key = identity(record.item)
            first = self._seen.get(key) if key is not None else None
            if first is not None:
                self.summary.duplicates.append(Duplicate(record.where, first))
            else:
                if key is not None:
                    self._seen[key] = record.where
                return Pending(seq, record, encode(record.item))
        self.progress(1)
        return None

    async def _send_then_release(self, batch: list[Pending], slots: asyncio.Semaphore) -> None:
        try:
            await self._send(batch)
        finally:
            slots.release()

    async def _send(self, batch: list[Pending]) -> None:
        while batch:
            self.summary.batches += 1
            outcome = await self.client.send([p.body for p in batch])
            if isinstance(outcome, Accepted):
                self.summary.accepted += len(batch)
                self.progress(len(batch))
                return
            if isinstance(outcome, TooLarge):
                if len(batch) == 1:
                    self._reject_pending(batch[0], f"too large for the service: {outcome.detail}")
                    return
                half = len(batch) // 2
                await self._send(batch[:half])
                await self._send(batch[half:])
                return
            named = {i for i in outcome.by_index if 0 <= i < len(batch)}
            if not named:
                # Nothing points at an item: the batch as a whole was refused.
                reason = "; ".join(outcome.general) or "rejected by the service"
                for pending in batch:
                    self._reject_pending(pending, reason)
                return
            for index in sorted(named):
                self._reject_pending(batch[index], "; ".join(outcome.by_index[index]))
            batch = [p for i, p in enumerate(batch) if i not in named]

    def _reject_pending(self, pending: Pending, reason: str) -> None:
        self._reject(pending.seq, pending.record, reason)
        self.progress(1)

    def _reject(self, seq: int, record: Record, reason: str) -> None:
        self.summary.rejected.append(Rejection(seq, record.where, record.line, reason, record.item))
