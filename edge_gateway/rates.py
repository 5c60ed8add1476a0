"""Rate limits: one table of named limits, one `hit` path for every REST route and WebSocket frame.

Every user command passes through the gateway, so the gateway is where they are counted (chat_svc
and auth_svc are reached by nothing else; docs/security.md, "Rate limits"). A limit is a family
name -> "N per period" in the `limits` library's notation ("40 per 2 seconds"; several joined by
";"), counted with its moving window per user, or per client address where there is no user yet
(ADDRESS_KEYED). With GATEWAY_BROKER_URL the windows live in that Redis, so a user's budget is one
across every gateway; without it, in this process. Should Redis fail, the same limits hold per
gateway (in memory) until it is back, rather than none at all.

    REST route --(ROUTES: "POST /rooms/{room_id}/messages" -> "send")--\
                                                                      >-- RateLimits.hit(family, key)
    WebSocket frame --(edge_gateway/ws/commands.py: frame type)-------/      -> RateLimited (429 / error frame)
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping

import grpc
import redis.asyncio as redis
from limits import RateLimitItem, parse_many, storage as local_storage, strategies as local_strategies
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from edge_gateway.errors import ApiError

log = logging.getLogger(__name__)

# Generous for honest use; what each is for is in docs/security.md ("Rate limits").
DEFAULT_LIMITS: dict[str, str] = {
    # per client address: nobody is signed in yet
    "sign_up": "20 per hour",
    "sign_in": "20 per minute",
    "session": "60 per minute",  # refresh, logout
    "ws_connect": "60 per minute",  # sockets opened
    # per user
    "send": "40 per 2 seconds",  # 20 a second on average, bursts of 40 (an outbox flushing)
    "typing": "3 per 6 seconds",  # a notice lasts 6 s; the web app renews it every 3 s, in one room or two
    "read": "30 per 10 seconds",
    "react": "30 per 10 seconds",
    "edit": "30 per minute",  # edit, delete
    "membership": "30 per minute",  # join, leave
    "invite": "30 per minute",  # invite, open a direct room
    "create_room": "10 per minute",
    "manage": "30 per minute",  # room settings, roles, removals, notification levels
    "history": "60 per 10 seconds",  # pages of messages
    "query": "100 per 10 seconds",  # users, rooms, members, presence, the channel browser
    "search": "20 per 10 seconds",
    "upload": "30 per minute",
    "download": "300 per minute",  # thumbnails as a conversation scrolls
    "reauth": "10 per minute",
    "ping": "20 per 10 seconds",  # and other frames that cost no backend call
}
ADDRESS_KEYED = frozenset({"sign_up", "sign_in", "session", "ws_connect"})

# Each REST operation's family ("METHOD path" under /api/v1). A route missing here falls back by
# its method (below), and a test fails until it is listed.
ROUTES: dict[str, str] = {
    "POST /auth/register": "sign_up",
    "POST /auth/login": "sign_in",
    "POST /auth/refresh": "session",
    "POST /auth/logout": "session",
    "GET /users/me": "query",
    "GET /users/by-username/{username}": "query",
    "GET /users/{user_id}": "query",
    "GET /users": "query",
    "GET /rooms": "query",
    "POST /rooms": "create_room",
    "GET /rooms/public": "query",
    "GET /rooms/{room_id}": "query",
    "PATCH /rooms/{room_id}": "manage",
    "POST /rooms/{room_id}/join": "membership",
    "POST /rooms/{room_id}/leave": "membership",
    "POST /rooms/{room_id}/members": "invite",
    "GET /rooms/{room_id}/members": "query",
    "GET /rooms/{room_id}/presence": "query",
    "POST /direct": "invite",
    "GET /invitations": "query",
    "POST /invitations/{room_id}/accept": "membership",
    "POST /invitations/{room_id}/decline": "membership",
    "GET /blocks": "query",
    "PUT /blocks/{user_id}": "manage",
    "DELETE /blocks/{user_id}": "manage",
    "PUT /rooms/{room_id}/notifications": "manage",
    "PUT /rooms/{room_id}/members/{user_id}/role": "manage",
    "DELETE /rooms/{room_id}/members/{user_id}": "manage",
    "GET /rooms/{room_id}/messages": "history",
    "POST /rooms/{room_id}/messages": "send",
    "PATCH /rooms/{room_id}/messages/{seq}": "edit",
    "DELETE /rooms/{room_id}/messages/{seq}": "edit",
    "POST /rooms/{room_id}/read": "read",
    "POST /rooms/{room_id}/typing": "typing",
    "PUT /rooms/{room_id}/messages/{seq}/reactions/{emoji}": "react",
    "DELETE /rooms/{room_id}/messages/{seq}/reactions/{emoji}": "react",
    "POST /rooms/{room_id}/files": "upload",
    "GET /files/{file_id}": "download",
    "GET /search": "search",
}


def route_family(method: str, path: str) -> str:
    """The family of a REST operation (path without the /api/v1 prefix); unlisted: reads "query", writes "manage"."""
    return ROUTES.get(f"{method} {path}") or ("query" if method in ("GET", "HEAD") else "manage")


def parse_table(overrides: Mapping[str, str]) -> dict[str, str]:
    """DEFAULT_LIMITS with overrides; ValueError for an unknown family or a limit `limits` cannot read."""
    unknown = sorted(set(overrides) - set(DEFAULT_LIMITS))
    if unknown:
        raise ValueError(f"unknown rate limit {unknown[0]!r}; known: {', '.join(DEFAULT_LIMITS)}")
    table = {**DEFAULT_LIMITS, **overrides}
    for text in table.values():
        parse_many(text)  # ValueError names the text
    return table


class RateLimited(ApiError):
    """A command over its limit: resource_exhausted, to retry after retry_after_ms."""

    def __init__(self, family: str, retry_after_ms: int) -> None:
        seconds = max(1, math.ceil(retry_after_ms / 1000))
        super().__init__(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"too many requests ({family}); try again in {seconds} s",
            retry_after_ms=retry_after_ms,
        )
        self.family = family


class RateLimits:
    """Counts commands against the table, in Redis when there is a broker, else (and while it fails) in memory."""

    def __init__(self, table: Mapping[str, str], broker_url: str | None = None) -> None:
        self._items: dict[str, list[RateLimitItem]] = {name: parse_many(text) for name, text in table.items()}
        # In memory: limits' synchronous storage, called on the event loop (microseconds, no I/O). Its asyncio
        # twin hops to a thread per key while holding that key's lock to expire entries, which held every
        # send behind it: the bench's latency p50 went from 7 to 13 ms with it.
        self._local = local_strategies.MovingWindowRateLimiter(local_storage.MemoryStorage())
        self._pool: redis.ConnectionPool | None = None
        self._shared: MovingWindowRateLimiter | None = None
        if broker_url:
            # Our own pool, so that close() can end its connections.
            self._pool = redis.ConnectionPool.from_url(broker_url, socket_timeout=2, socket_connect_timeout=2)
            storage = RedisStorage(
                f"async+{broker_url}",
                implementation="redispy",
                wrap_exceptions=True,
                key_prefix="parley:rate",
                connection_pool=self._pool,  # type: ignore[arg-type]  # passed on to redis.asyncio.Redis
            )
            self._shared = MovingWindowRateLimiter(storage)
        self._failing_since = 0.0

    async def close(self) -> None:
        """Close the Redis connections (the gateway is stopping)."""
        if self._pool is not None:
            await self._pool.aclose()

    async def hit(self, family: str, key: str | int) -> None:
        """Count one command of family for key (a user id, or a client address); RateLimited when over."""
        for item in self._items[family]:
            retry_s = await self._hit(item, family, str(key))
            if retry_s is not None:
                raise RateLimited(family, max(1, math.ceil(retry_s * 1000)))

    async def _hit(self, item: RateLimitItem, family: str, key: str) -> float | None:
        """None when allowed, else the seconds until it would be."""
        if self._shared is not None:
            try:
                if await self._shared.hit(item, family, key):
                    self._failing_since = 0.0
                    return None
                stats = await self._shared.get_window_stats(item, family, key)
                return max(0.0, stats.reset_time - time.time())
            except StorageError as exc:
                if not self._failing_since:
                    log.warning("rate limits fall back to this gateway's memory: Redis failed (%s)", exc.storage_error)
                self._failing_since = time.monotonic()
        if self._local.hit(item, family, key):
            return None
        stats = self._local.get_window_stats(item, family, key)
        return max(0.0, stats.reset_time - time.time())
