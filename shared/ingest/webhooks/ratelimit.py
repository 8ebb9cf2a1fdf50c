"""Token buckets: a steady rate with room for bursts, one per vendor (and per fetch target)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """`rate_per_s` tokens a second, at most `burst` saved up. Per process: each replica of a
    service has its own buckets, so a deployment's limit is the per-replica one × replicas."""

    def __init__(
        self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.rate = rate_per_s
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def try_take(self) -> float:
        """Take a token: 0.0 when granted, else the seconds until one will be available."""
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate

    async def take(self) -> None:
        """Reserve a token and wait until it is due (outbound calls pace themselves rather than
        fail). Reserving lets concurrent callers queue fairly instead of polling."""
        self._refill()
        self._tokens -= 1
        if self._tokens < 0:
            await asyncio.sleep(-self._tokens / self.rate)
