"""The per-user send rate limit (token bucket), on a controlled clock."""

from __future__ import annotations

import pytest

from chat_svc import limits
from chat_svc.limits import SendLimiter
from common.errors import ResourceExhausted


class FakeClock:
    """Stands in for the time module inside chat_svc.limits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        """The current fake time."""
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A clock that only moves when the test says so."""
    fake = FakeClock()
    monkeypatch.setattr(limits, "time", fake)
    return fake


def test_burst_is_allowed_then_refused(clock: FakeClock) -> None:
    """`burst` sends in a row pass; the next one is ResourceExhausted."""
    limiter = SendLimiter(rate=1.0, burst=3)
    for _ in range(3):
        limiter.take(7)
    with pytest.raises(ResourceExhausted):
        limiter.take(7)


def test_refusal_says_when_to_retry(clock: FakeClock) -> None:
    """The refusal names the wait until the next token: 1 token at 2/s is 500 ms."""
    limiter = SendLimiter(rate=2.0, burst=1)
    limiter.take(7)
    with pytest.raises(ResourceExhausted, match=r"retry in 501 ms"):
        limiter.take(7)


def test_tokens_refill_at_the_rate(clock: FakeClock) -> None:
    """After 1/rate seconds one more send is allowed, and only one."""
    limiter = SendLimiter(rate=4.0, burst=2)
    limiter.take(7)
    limiter.take(7)
    clock.now += 0.25
    limiter.take(7)
    with pytest.raises(ResourceExhausted):
        limiter.take(7)


def test_refill_is_capped_at_the_burst(clock: FakeClock) -> None:
    """A long idle time refills to `burst`, not beyond."""
    limiter = SendLimiter(rate=10.0, burst=2)
    limiter.take(7)
    clock.now += 3600
    limiter.take(7)
    limiter.take(7)
    with pytest.raises(ResourceExhausted):
        limiter.take(7)


def test_refused_sends_do_not_spend_tokens(clock: FakeClock) -> None:
    """Hammering while empty does not push the next allowed send further away."""
    limiter = SendLimiter(rate=1.0, burst=1)
    limiter.take(7)
    for _ in range(5):
        with pytest.raises(ResourceExhausted):
            limiter.take(7)
    clock.now += 1.0
    limiter.take(7)


def test_buckets_are_per_user(clock: FakeClock) -> None:
    """One user running out does not limit another."""
    limiter = SendLimiter(rate=1.0, burst=1)
    limiter.take(1)
    with pytest.raises(ResourceExhausted):
        limiter.take(1)
    limiter.take(2)


def test_pruning_forgets_buckets_without_refusing(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the table of buckets is full it is cleared, which only lets users send sooner."""
    monkeypatch.setattr(limits, "_PRUNE_AT", 3)
    limiter = SendLimiter(rate=0.001, burst=1)
    for user in (1, 2, 3):
        limiter.take(user)
    with pytest.raises(ResourceExhausted):
        limiter.take(1)
    limiter.take(4)  # table full: cleared, then user 4 recorded
    limiter.take(1)  # user 1 was forgotten, so its bucket is full again
