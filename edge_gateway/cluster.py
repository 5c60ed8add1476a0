"""What gateways tell each other through Redis, when GATEWAY_BROKER_URL is set: presence and sign-outs.

Each gateway keeps, in Redis:
- `parley:gw:<id>:alive`, a key that expires after GATEWAY_PRESENCE_TTL_SECONDS unless refreshed
  (every third of it): a gateway that dies without a goodbye simply stops refreshing it;
- `parley:gw:<id>:users`, a hash user id -> that user's rooms, the users with sockets there;
- its id in the set `parley:gateways`, so that others can find it.
Changes go out on the pub/sub channel `parley:gw:events` (user online/offline, gateway gone, session
ended). A gateway that starts, or whose subscription broke, reloads every live gateway's hash, so a
missed message costs nothing. Each gateway checks the others' alive keys on every heartbeat, and the
users of a gateway whose key expired go offline.

Wiring, so that the arrows point one way: ClusterPeers (what this gateway tells the others, a
queue) is made first and given to Presence as its Peers; Cluster is given both, drains the queue
into Redis and feeds what the others say into Presence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
import redis.asyncio as redis

from common.pubsub import listen_forever
from edge_gateway.ws.presence import Presence

log = logging.getLogger(__name__)

CHANNEL = "parley:gw:events"
GATEWAYS = "parley:gateways"


def _alive(gateway: str) -> str:
    return f"parley:gw:{gateway}:alive"


def _users(gateway: str) -> str:
    return f"parley:gw:{gateway}:users"


def _rooms_text(rooms: set[int]) -> str:
    return ",".join(map(str, sorted(rooms)))


def _rooms(text: bytes | str) -> set[int]:
    raw = text.decode() if isinstance(text, bytes) else text
    return {int(r) for r in raw.split(",") if r}


class ClusterPeers:
    """Presence's Peers when there is a broker: news for the other gateways, queued for Cluster's writer."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def user_online(self, user_id: int, rooms: set[int]) -> None:
        """The user has sockets here."""
        self.queue.put_nowait(("online", (user_id, rooms)))

    def user_offline(self, user_id: int) -> None:
        """The user's last socket here closed."""
        self.queue.put_nowait(("offline", user_id))

    def session_ended(self, session_id: str) -> None:
        """Sockets of this session close on every gateway."""
        self.queue.put_nowait(("end_session", session_id))


class Cluster:
    """This gateway's link to the others: writes ClusterPeers' news to Redis, feeds Presence what the others say."""

    def __init__(self, url: str, gateway_id: str, ttl_seconds: float, peers: ClusterPeers, presence: Presence) -> None:
        self.id = gateway_id
        self._url = url
        self._ttl = ttl_seconds
        self._writes = peers.queue
        self._presence = presence
        self._tasks: list[asyncio.Task[None]] = []
        self._client: redis.Redis | None = None

    # -- ClusterPeers' news: written in order by one task -------------------------------------------

    async def _writer(self, client: redis.Redis) -> None:
        while True:
            op, arg = await self._writes.get()
            try:
                async with client.pipeline(transaction=False) as pipe:
                    if op == "online":
                        user_id, rooms = arg
                        pipe.hset(_users(self.id), str(user_id), _rooms_text(rooms))
                        message = {"gw": self.id, "op": op, "user": user_id, "rooms": sorted(rooms)}
                    elif op == "offline":
                        pipe.hdel(_users(self.id), str(arg))
                        message = {"gw": self.id, "op": op, "user": arg}
                    else:
                        message = {"gw": self.id, "op": op, "session": arg}
                    pipe.publish(CHANNEL, orjson.dumps(message))
                    await pipe.execute()
            except (redis.RedisError, OSError) as exc:
                # The heartbeat republishes everything once Redis is back.
                log.warning("could not tell the other gateways (%s): %s", op, exc)

    # -- heartbeat: stay alive, republish after a Redis restart, bury dead gateways -----------------

    async def _heartbeat(self, client: redis.Redis) -> None:
        interval = self._ttl / 3
        while True:
            try:
                await self._beat(client)
            except (redis.RedisError, OSError) as exc:
                log.warning("presence heartbeat failed: %s", exc)
            await asyncio.sleep(interval)

    async def _beat(self, client: redis.Redis) -> None:
        ttl_ms = int(self._ttl * 1000)
        was: Any = await client.set(_alive(self.id), "1", px=ttl_ms, get=True)
        if was is None:  # first beat, or Redis lost our keys (restart): publish the whole state
            users = self._presence.local_users()
            async with client.pipeline(transaction=False) as pipe:
                pipe.sadd(GATEWAYS, self.id)
                pipe.delete(_users(self.id))
                if users:
                    pipe.hset(_users(self.id), mapping={str(u): _rooms_text(r) for u, r in users.items()})
                await pipe.execute()
            await self._reload(client)
        await client.pexpire(_users(self.id), ttl_ms * 2)
        members: Any = await client.smembers(GATEWAYS)
        others = sorted({m.decode() for m in members} - {self.id})
        known = self._presence.remote_gateways()
        if not others and not known:
            return
        async with client.pipeline(transaction=False) as pipe:
            for gateway in others:
                pipe.exists(_alive(gateway))
            alive = await pipe.execute()
        dead = [gateway for gateway, up in zip(others, alive, strict=True) if not up]
        dead += sorted(known - set(others) - set(dead))
        for gateway in dead:
            log.info("gateway %s stopped answering; its users are offline", gateway)
            self._presence.remote_replace(gateway, {})
            await client.srem(GATEWAYS, gateway)
            await client.delete(_users(gateway))

    async def _reload(self, client: redis.Redis) -> None:
        """Everything every live gateway has online, replacing what we knew."""
        members: Any = await client.smembers(GATEWAYS)
        for gateway in sorted({m.decode() for m in members} - {self.id}):
            if not await client.exists(_alive(gateway)):
                continue
            users: Any = await client.hgetall(_users(gateway))
            self._presence.remote_replace(gateway, {int(u): _rooms(r) for u, r in users.items()})

    # -- listening ------------------------------------------------------------------------------------

    async def _listener(self) -> None:
        await listen_forever(self._url, CHANNEL, self._reload, self._on_message, "the other gateways' news")

    def _on_message(self, message: dict[str, Any]) -> None:
        gateway = message.get("gw")
        if not isinstance(gateway, str) or gateway == self.id:
            return
        op = message.get("op")
        if op == "online":
            self._presence.remote_online(gateway, int(message["user"]), {int(r) for r in message["rooms"]})
        elif op == "offline":
            self._presence.remote_offline(gateway, int(message["user"]))
        elif op == "gone":
            self._presence.remote_replace(gateway, {})
        elif op == "end_session":
            self._presence.end_local_session(str(message["session"]))

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Join the cluster: heartbeat, writer and listener tasks."""
        self._client = redis.Redis.from_url(self._url, socket_timeout=5, socket_connect_timeout=2)
        self._tasks = [
            asyncio.create_task(self._heartbeat(self._client), name="cluster-heartbeat"),
            asyncio.create_task(self._writer(self._client), name="cluster-writer"),
            asyncio.create_task(self._listener(), name="cluster-listener"),
        ]

    async def stop(self) -> None:
        """Leave the cluster: the others mark this gateway's users offline at once."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._client is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                async with self._client.pipeline(transaction=False) as pipe:
                    pipe.srem(GATEWAYS, self.id)
                    pipe.delete(_alive(self.id), _users(self.id))
                    pipe.publish(CHANNEL, orjson.dumps({"gw": self.id, "op": "gone"}))
                    await pipe.execute()
            await self._client.aclose()
