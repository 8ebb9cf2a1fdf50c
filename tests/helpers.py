"""Polling helpers for tests: wait for a condition instead of sleeping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool] = bool,
    *,
    timeout_s: float = 20.0,
    interval_s: float = 0.1,
) -> T:
    """Call `probe` until `until(result)` holds; return that result or fail with the last one."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if until(last):
            return last
        await asyncio.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s}s; last value: {last!r}")


async def consume_until(
    bootstrap: str,
    topics: list[str],
    count: int,
    *,
    timeout_s: float = 20.0,
) -> list[ConsumerRecord]:  # type: ignore[type-arg]
    """Read `topics` from the beginning (no group) until `count` records arrived."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    got: list[ConsumerRecord] = []  # type: ignore[type-arg]
    try:
        deadline = time.monotonic() + timeout_s
        while len(got) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                got.extend(records)
    finally:
        await consumer.stop()
    if len(got) < count:
        raise AssertionError(f"expected {count} records on {topics}, got {len(got)}")
    return got
