"""Per-user send rate limit (token bucket), kept in memory per replica."""

from __future__ import annotations

import time

from common.errors import ResourceExhausted

_PRUNE_AT = 100_000


class SendLimiter:
    """Allows `rate` sends per second per user with bursts up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._buckets: dict[int, tuple[float, float]] = {}  # user id -> (tokens, at)

    def take(self, user_id: int) -> None:
        """Spend one token, or ResourceExhausted saying when to retry."""
        now = time.monotonic()
        tokens, at = self._buckets.get(user_id, (self._burst, now))
        tokens = min(self._burst, tokens + (now - at) * self._rate)
        if tokens < 1.0:
            wait_ms = int((1.0 - tokens) / self._rate * 1000) + 1
            raise ResourceExhausted(f"sending too fast; retry in {wait_ms} ms")
        if len(self._buckets) >= _PRUNE_AT:
            self._buckets.clear()  # forgetting idle users only ever lets them send sooner
        self._buckets[user_id] = (tokens - 1.0, now)
