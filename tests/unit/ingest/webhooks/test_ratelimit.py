"""Token bucket: bursts up to its size, then the steady rate, with the wait it reports."""

from __future__ import annotations

import pytest

from shared.ingest.webhooks.ratelimit import TokenBucket


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TestTokenBucket:
    def test_burst_is_granted_then_refused_with_the_wait(self) -> None:
        clock = _Clock()
        bucket = TokenBucket(rate_per_s=2, burst=3, clock=clock)
        assert [bucket.try_take() for _ in range(3)] == [0.0, 0.0, 0.0]
        assert bucket.try_take() == pytest.approx(0.5)

    def test_tokens_come_back_at_the_rate_but_never_above_the_burst(self) -> None:
        clock = _Clock()
        bucket = TokenBucket(rate_per_s=2, burst=3, clock=clock)
        for _ in range(3):
            bucket.try_take()
        clock.now += 0.5
        assert bucket.try_take() == 0.0
        assert bucket.try_take() > 0
        clock.now += 3600
        assert [bucket.try_take() for _ in range(4)][:3] == [0.0, 0.0, 0.0]
        assert bucket.try_take() > 0

    async def test_take_reserves_and_waits_in_turn_instead_of_failing(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        waits: list[float] = []

        async def fake_sleep(seconds: float) -> None:
            waits.append(seconds)

        monkeypatch.setattr("shared.ingest.webhooks.ratelimit.asyncio.sleep", fake_sleep)
        bucket = TokenBucket(rate_per_s=2, burst=1, clock=_Clock())
        for _ in range(3):
            await bucket.take()
        # The first token was there; the next two queue behind it, half a second apart.
        assert waits == [pytest.approx(0.5), pytest.approx(1.0)]

    @pytest.mark.parametrize(("rate", "burst"), [(0, 1), (1, 0), (-1, 5)])
    def test_nonsense_limits_are_refused(self, rate: float, burst: int) -> None:
        with pytest.raises(ValueError):
            TokenBucket(rate_per_s=rate, burst=burst)
