"""The sign-in throttle: growing delays per account, per client address and per the two together.

Every sign-in attempt is counted, before its password is checked, in three scopes:

    pair      this username from this address    a few free tries, then 1 s, 2 s, 4 s ... between tries
    account   this username from anywhere        many free tries (guessing spread over addresses)
    address   any username from this address     many free tries (one address spraying names)

An attempt is refused (ResourceExhausted with the wait) while any scope still waits; otherwise it
is counted at once, so concurrent tries cannot slip past the count, and a success takes it back
(the pair scope is forgotten). Nobody is locked out: an attacker's failures from one address leave
the owner at another address only the account scope's delay, which starts far later.

The counts live in a Store: in memory for one replica, in Redis (AUTH_BROKER_URL) for several.
Both apply the one rule, `decide`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis

from common.errors import ResourceExhausted

log = logging.getLogger(__name__)

KEY_PREFIX = "parley:auth:signin:"
_PRUNE_AT = 100_000


@dataclass(frozen=True, slots=True)
class Count:
    """One scope's recent attempts and the time (epoch seconds) before which the next one is refused."""

    attempts: int = 0
    next_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Scope:
    """A store key and the attempts it allows before delays start."""

    key: str
    free: int


def decide(counts: Sequence[Count], scopes: Sequence[Scope], now: float, max_delay: float) -> tuple[float, list[Count]]:
    """(seconds to wait, 0 when allowed; the counts after this attempt, unchanged when refused)."""
    wait = max((count.next_at - now for count in counts), default=0.0)
    if wait > 0:
        return wait, list(counts)
    after = []
    for count, scope in zip(counts, scopes, strict=True):
        attempts = count.attempts + 1
        # From the free-th attempt on, the next one waits 1 s, then 2 s, 4 s ... up to max_delay.
        next_at = now + min(max_delay, 2.0 ** (attempts - scope.free)) if attempts >= scope.free else count.next_at
        after.append(Count(attempts, next_at))
    return 0.0, after


class Store(Protocol):
    """Where the counts live."""

    def reserve(self, scopes: Sequence[Scope], max_delay: float, memory_s: float) -> float:
        """Apply `decide` atomically; the wait (0: the attempt is counted and may go ahead)."""

    def succeeded(self, scopes: Sequence[Scope], forget: Scope) -> None:
        """Take one attempt back from each scope, and forget `forget` altogether."""


class MemoryStore:
    """The counts of one process (one auth_svc replica)."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[Count, float]] = {}  # key -> (count, forgotten at)
        self._lock = threading.Lock()

    def reserve(self, scopes: Sequence[Scope], max_delay: float, memory_s: float) -> float:
        now = time.time()
        with self._lock:
            if len(self._counts) >= _PRUNE_AT:  # bound memory under random-name guessing
                self._counts = {key: kept for key, kept in self._counts.items() if kept[1] > now}
            counts = [self._current(scope.key, now) for scope in scopes]
            wait, after = decide(counts, scopes, now, max_delay)
            if not wait:
                for scope, count in zip(scopes, after, strict=True):
                    self._counts[scope.key] = (count, max(now + memory_s, count.next_at))
            return wait

    def succeeded(self, scopes: Sequence[Scope], forget: Scope) -> None:
        now = time.time()
        with self._lock:
            for scope in scopes:
                kept = self._counts.get(scope.key)
                if kept is not None and kept[1] > now:
                    count = kept[0]
                    self._counts[scope.key] = (Count(max(0, count.attempts - 1), count.next_at), kept[1])
            self._counts.pop(forget.key, None)

    def _current(self, key: str, now: float) -> Count:
        kept = self._counts.get(key)
        return kept[0] if kept is not None and kept[1] > now else Count()


class RedisStore:
    """The counts shared by every replica: one hash per scope key, expiring when unused.

    While Redis does not answer, each replica counts on its own (MemoryStore) rather than refuse every
    sign-in.
    """

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._fallback = MemoryStore()

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        """A store on the Redis at `url`."""
        return cls(redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2))

    def reserve(self, scopes: Sequence[Scope], max_delay: float, memory_s: float) -> float:
        try:
            return self._reserve(scopes, max_delay, memory_s)
        except (redis.RedisError, OSError) as exc:
            log.warning("sign-in throttle: Redis unreachable (%s); counting in this replica", exc)
            return self._fallback.reserve(scopes, max_delay, memory_s)

    def _reserve(self, scopes: Sequence[Scope], max_delay: float, memory_s: float) -> float:
        keys = [scope.key for scope in scopes]
        while True:  # optimistic: WATCH the keys, and start over if another replica wrote them meanwhile
            with self._client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(*keys)  # type: ignore[no-untyped-call]  # redis-py's watch has no annotations
                    now = time.time()
                    counts = [self._count(pipe.hmget(key, "n", "t")) for key in keys]
                    wait, after = decide(counts, scopes, now, max_delay)
                    if wait:
                        return wait
                    pipe.multi()
                    for key, count in zip(keys, after, strict=True):
                        pipe.hset(key, mapping={"n": count.attempts, "t": repr(count.next_at)})
                        pipe.expire(key, int(max(memory_s, count.next_at - now)) + 1)
                    pipe.execute()
                    return 0.0
                except redis.WatchError:
                    continue

    def succeeded(self, scopes: Sequence[Scope], forget: Scope) -> None:
        self._fallback.succeeded(scopes, forget)
        try:
            self._succeeded(scopes, forget)
        except (redis.RedisError, OSError) as exc:
            log.warning("sign-in throttle: Redis unreachable (%s)", exc)

    def _succeeded(self, scopes: Sequence[Scope], forget: Scope) -> None:
        with self._client.pipeline(transaction=True) as pipe:
            for scope in scopes:
                if scope != forget:
                    pipe.hincrby(scope.key, "n", -1)  # (an expired key comes back at -1: counts as 0)
            pipe.delete(forget.key)
            pipe.execute()

    @staticmethod
    def _count(values: Any) -> Count:
        attempts, next_at = values
        return Count(max(0, int(attempts or 0)), float(next_at or 0.0))


@dataclass(frozen=True)
class ThrottleLimits:
    """Free attempts per scope, the longest delay, and how long unused counts are remembered."""

    pair_free: int = 3
    account_free: int = 20
    address_free: int = 50
    max_delay_s: float = 60.0
    memory_s: float = 900.0


class SignInThrottle:
    """Counts sign-in attempts per (username, address), per username and per address; see the module docstring."""

    def __init__(self, store: Store, limits: ThrottleLimits) -> None:
        self._store = store
        self._limits = limits

    def _scopes(self, username: str, address: str) -> list[Scope]:
        where = address or "unknown"
        return [
            Scope(f"{KEY_PREFIX}pair:{username}|{where}", self._limits.pair_free),
            Scope(f"{KEY_PREFIX}account:{username}", self._limits.account_free),
            Scope(f"{KEY_PREFIX}address:{where}", self._limits.address_free),
        ]

    def attempt(self, username: str, address: str) -> None:
        """Count an attempt, or ResourceExhausted with the wait when it must wait."""
        wait = self._store.reserve(self._scopes(username, address), self._limits.max_delay_s, self._limits.memory_s)
        if wait > 0:
            shown = max(1, round(wait))
            raise ResourceExhausted(
                f"too many sign-in attempts; try again in {shown} second{'s' if shown != 1 else ''}",
                retry_after=wait,
            )

    def succeeded(self, username: str, address: str) -> None:
        """The attempt signed in: it no longer counts, and this address starts afresh for this username."""
        scopes = self._scopes(username, address)
        self._store.succeeded(scopes, scopes[0])
