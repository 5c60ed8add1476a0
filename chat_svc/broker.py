"""Events between chat_svc replicas through one Redis stream, used when CHAT_BROKER_URL is set.

Every replica appends the events it publishes to the stream (XADD, several events per entry) and
reads every entry back (XREAD from the last id it read), its own included, so that all replicas
feed their subscribers the same events. See docs/scaling.md for why Redis Streams.

The broker is never the source of truth. When a replica loses its read position (the connection
broke, Redis restarted), it cannot know what it missed, so it ends every event stream it serves with
UNAVAILABLE: gateways reconnect and catch up from MySQL by their cursors, then follow the stream from
its new tail. An append that fails is retried briefly and then dropped: a dropped new message is
filled from MySQL by the sequencer; other dropped events reach clients at their next resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as redis

from chat_svc import metrics
from parley.chat.v1 import chat_pb2 as pb

log = logging.getLogger(__name__)

FIELD = b"e"  # each entry holds one serialized StreamEventsResponse carrying several events
BATCH_EVENTS = 500
READ_BLOCK_MS = 1000
PUBLISH_ATTEMPTS = 3


class RedisEventBus:
    """Publishes this replica's events and delivers everyone's, in stream order."""

    def __init__(self, url: str, stream: str, maxlen: int) -> None:
        self._url = url
        self._stream = stream
        self._maxlen = maxlen
        self._deliver: Callable[[list[pb.Event]], None] = lambda events: None
        self._lost: Callable[[], None] = lambda: None
        self._ready: Callable[[], None] = lambda: None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: deque[pb.Event] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # set whenever the outbox has been written out
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = False
        self.published = 0
        self.dropped = 0
        self.resets = 0

    def _client(self) -> redis.Redis:
        # The read blocks for READ_BLOCK_MS, so the socket timeout must be longer than that.
        return redis.Redis.from_url(self._url, socket_timeout=5, socket_connect_timeout=2)

    # -- publishing ---------------------------------------------------------------------------------

    def publish(self, events: Sequence[pb.Event]) -> None:
        """Queue events for the stream, in call order. Call on the event loop."""
        self._outbox.extend(events)
        self._wake.set()

    def publish_threadsafe(self, events: Sequence[pb.Event]) -> None:
        """publish() from a worker thread; callbacks run in call order, so order is kept."""
        assert self._loop is not None, "start() first"
        self._loop.call_soon_threadsafe(self.publish, list(events))

    async def _publisher(self) -> None:
        client = self._client()
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._outbox:
                    count = min(BATCH_EVENTS, len(self._outbox))
                    batch = [self._outbox.popleft() for _ in range(count)]
                    await self._append(client, batch)
                self._idle.set()
        finally:
            await client.aclose()

    async def _append(self, client: redis.Redis, batch: list[pb.Event]) -> None:
        data = pb.StreamEventsResponse(events=batch).SerializeToString()
        started = time.perf_counter()
        for attempt in range(PUBLISH_ATTEMPTS):
            try:
                await client.xadd(self._stream, {FIELD: data}, maxlen=self._maxlen, approximate=True)
                metrics.BROKER_PUBLISH_SECONDS.observe(time.perf_counter() - started)
                self.published += len(batch)
                return
            except (redis.RedisError, OSError) as exc:
                if attempt + 1 == PUBLISH_ATTEMPTS:
                    self.dropped += len(batch)
                    log.error("dropped %d event(s): the broker refused them (%s)", len(batch), exc)
                    return
                await asyncio.sleep(0.2 * (attempt + 1))

    # -- consuming ----------------------------------------------------------------------------------

    async def _consumer(self) -> None:
        delay = 0.2
        while True:
            client = self._client()
            try:
                # Start at the stream's tail: what came before is in MySQL, and subscribers catch up there.
                newest: Any = await client.xrevrange(self._stream, count=1)  # redis-py's types are loose
                last_id: bytes | str = newest[0][0] if newest else "0-0"
                self.connected, delay = True, 0.2
                self._ready()
                log.info("reading events from the broker at %s", self._stream)
                while True:
                    reply: Any = await client.xread({self._stream: last_id}, count=BATCH_EVENTS, block=READ_BLOCK_MS)
                    for _stream, entries in reply or ():
                        for entry_id, fields in entries:
                            last_id = entry_id
                            metrics.BROKER_CONSUME_LAG.observe(_age(entry_id))
                            data = fields.get(FIELD)
                            if data is not None:
                                self._deliver(list(pb.StreamEventsResponse.FromString(data).events))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure loses our place: reset and reconnect
                if self.connected:
                    log.warning("lost the broker (%s); event streams end and resume from MySQL", exc)
                    self.connected = False
                    self.resets += 1
                    self._lost()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(
        self, deliver: Callable[[list[pb.Event]], None], lost: Callable[[], None], ready: Callable[[], None]
    ) -> None:
        """Start publishing, and reading into deliver(); lost() when the place is lost, ready() when held."""
        self._deliver, self._lost, self._ready = deliver, lost, ready
        self._loop = asyncio.get_running_loop()
        self._tasks = [
            asyncio.create_task(self._publisher(), name="broker-publisher"),
            asyncio.create_task(self._consumer(), name="broker-consumer"),
        ]

    async def stop(self, flush_seconds: float = 2.0) -> None:
        """Publish what is queued (for a while), then stop."""
        if self._outbox:
            self._idle.clear()
            self._wake.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(flush_seconds):
                    await self._idle.wait()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _age(entry_id: bytes | str) -> float:
    """Seconds since an entry was appended: its id starts with Redis' clock in milliseconds."""
    raw = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return max(0.0, time.time() - int(raw.partition("-")[0]) / 1000)
