"""Ended sessions: refused everywhere until their access tokens have expired.

auth_svc ends sessions (sign-out, refresh-token reuse) and is their source of truth. Every
component that verifies tokens (the gateways, chat_svc, auth_svc itself) keeps a RevokedSessions
that its TokenVerifier consults on every call, and learns of ended sessions from a feed:

    auth_svc ──(AUTH_BROKER_URL set)──► Redis: ZADD parley:auth:ended + PUBLISH parley:auth:sessions-ended
                                              │
              gateways / chat_svc with a broker URL: BrokerRevocations (subscribe; on (re)connect, load the set)
              without one: common.auth_client.PolledRevocations (ListEndedSessions every few seconds)

A feed calls `on_ended(session_id, account_disabled)` for each session it newly learns of (a
gateway closes its sockets there: 4005 when an operator disabled the account, else 4004). The flag
travels with the live news only; a late joiner loading the set learns the session as merely ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import orjson
import redis.asyncio as redis

from common.pubsub import listen_forever

log = logging.getLogger(__name__)

CHANNEL = "parley:auth:sessions-ended"
ENDED = "parley:auth:ended"  # sorted set: session id, scored by the time until which it is refused
_PRUNE_EVERY = 1024


OnEnded = Callable[[str, bool], object]  # (session id, account disabled)


class Announce(Protocol):
    """How auth_svc tells every component that a session ended, and until when its tokens are refused."""

    async def __call__(self, session_id: str, until: float, account_disabled: bool = False) -> None: ...


def _nothing(_: str, __: bool) -> object:
    """No one to tell."""


class RevokedSessions:
    """Session ids whose tokens are refused, each until a time (epoch seconds)."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._adds = 0

    def add(self, session_id: str, until: float) -> bool:
        """Refuse the session until `until`; True when it was not refused before."""
        if not session_id or until <= time.time():
            return False
        new = session_id not in self
        self._until[session_id] = max(until, self._until.get(session_id, 0.0))
        self._adds += 1
        if self._adds % _PRUNE_EVERY == 0:
            now = time.time()
            self._until = {sid: t for sid, t in self._until.items() if t > now}
        return new

    def __contains__(self, session_id: object) -> bool:
        until = self._until.get(session_id) if isinstance(session_id, str) else None
        return until is not None and until > time.time()

    def __len__(self) -> int:
        return len(self._until)


class BrokerRevocations:
    """Ended sessions through Redis: auth_svc announces them, every other component listens."""

    def __init__(self, url: str, revoked: RevokedSessions, on_ended: OnEnded = _nothing) -> None:
        self._url = url
        self._revoked = revoked
        self._on_ended = on_ended
        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()  # set once subscribed and loaded (tests wait on it)

    async def announce(self, session_id: str, until: float, account_disabled: bool = False) -> None:
        """Tell every component that the session ended (auth_svc): kept in a set for late joiners, and published."""
        self._learn(session_id, until, account_disabled)
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.zadd(ENDED, {session_id: until})
                pipe.zremrangebyscore(ENDED, "-inf", time.time())
                news = {"session": session_id, "until": until, "disabled": account_disabled}
                pipe.publish(CHANNEL, orjson.dumps(news))
                await pipe.execute()
        except (redis.RedisError, OSError) as exc:
            log.warning("could not announce the end of a session (%s); others refuse it once it is polled", exc)

    def _learn(self, session_id: str, until: float, account_disabled: bool = False) -> None:
        if self._revoked.add(session_id, until):
            self._on_ended(session_id, account_disabled)

    async def _reload(self, client: redis.Redis) -> None:
        ended: Any = await client.zrangebyscore(ENDED, time.time(), "+inf", withscores=True)
        for session_id, until in ended:
            self._learn(session_id.decode(), float(until))
        self.listening.set()

    def _on_message(self, news: dict[str, Any]) -> None:
        self._learn(str(news["session"]), float(news["until"]), bool(news.get("disabled", False)))

    async def start(self) -> None:
        """Start listening."""
        listening = listen_forever(
            self._url, CHANNEL, self._reload, self._on_message, "the ended sessions' news", self.listening.clear
        )
        self._task = asyncio.create_task(listening, name="revocations-listener")

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._client.aclose()
