"""The event pump: one event stream from chat_svc per gateway process, fanned out to the local sockets.

The pump holds a single StreamEvents(all_rooms) call with the gateway's service token. Each event is
encoded to JSON once and handed to every local socket of a member of its room (the SocketIndex).
Membership events go through Presence first, which keeps the index current, so rooms joined after
connecting are delivered too.

If the stream breaks (chat_svc restarted, network), the pump reconnects with backoff and every
socket catches up from the database from its own last seq (the catch-up function it was given),
so nothing is lost in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import grpc

from common.tokens import auth_metadata
from edge_gateway import metrics
from edge_gateway.backends import Backends
from edge_gateway.ws.connection import Connection
from edge_gateway.ws.index import SocketIndex
from edge_gateway.ws.presence import Presence
from edge_gateway.ws.protocol import encode, event_frame, event_position
from parley.chat.v1 import chat_pb2 as pb

log = logging.getLogger(__name__)

CatchUp = Callable[[Connection], Coroutine[Any, Any, None]]
RESYNC_CONCURRENCY = 32


class Fanout:
    """Routes chat_svc's events to local connections."""

    def __init__(self, backends: Backends, index: SocketIndex, presence: Presence, catch_up: CatchUp) -> None:
        self._backends = backends
        self._index = index
        self._presence = presence
        self._catch_up = catch_up
        self.live = False
        self.started = False  # the stream was live once: later breaks are outages, not start-up
        self.reconnects = 0
        self._task: asyncio.Task[None] | None = None
        self._resyncs: set[asyncio.Task[None]] = set()
        self._resync_slots = asyncio.Semaphore(RESYNC_CONCURRENCY)

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the pump."""
        self._task = asyncio.create_task(self._pump(), name="fanout-pump")

    async def stop(self) -> None:
        """Stop the pump."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _pump(self) -> None:
        delay = 0.2
        broken = False
        while True:
            try:
                await self._stream(resync=broken)
                raise ConnectionError("event stream ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect with backoff
                detail = exc.details() if isinstance(exc, grpc.aio.AioRpcError) else str(exc)
                if self.live or not broken:
                    log.warning("event stream from chat_svc broke (%s); reconnecting", detail)
                if self.live:
                    delay = 0.2  # it was up: the first retry comes soon
                self.live, broken = False, True
                self.reconnects += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _stream(self, resync: bool) -> None:
        """Read the stream until it ends; after a break, re-sync every socket once it is live again."""
        token = await self._backends.service_token.get()
        call = self._backends.chat.StreamEvents(pb.StreamEventsRequest(all_rooms=True), metadata=auth_metadata(token))
        async for response in call:
            if response.caught_up:
                self.live = self.started = True
                log.info("event stream from chat_svc is live")
                if resync:
                    self._resync_all()
                continue
            self.dispatch(response.events)

    def _resync_all(self) -> None:
        for connection in self._index:
            connection.hold()
            task = asyncio.create_task(self._resync(connection))
            self._resyncs.add(task)  # keep a reference until done
            task.add_done_callback(self._resyncs.discard)

    async def _resync(self, connection: Connection) -> None:
        # A few at a time: thousands of sockets catching up at once would flood chat_svc and MySQL
        # just as they come back. Live events wait in each socket's bounded hold meanwhile.
        async with self._resync_slots:
            await self._catch_up(connection)

    # -- events -------------------------------------------------------------------------------------

    def dispatch(self, events: Iterable[pb.Event]) -> None:
        """Route a batch of events to local sockets, encoding each once."""
        for event in events:
            kind = event.WhichOneof("kind")
            if kind == "member_joined":
                self._presence.joined(event.member_joined.user_id, event.room_id)
            frame = event_frame(event)
            if frame is None:
                continue
            text = encode(frame)
            if kind == "read_marker":
                self._to_reader(event.read_marker.user_id, event.room_id, text)
                continue
            if kind == "member_settings":  # -- threads and mentions: private like read markers --
                self._to_reader(event.member_settings.user_id, event.room_id, text)
                continue
            if kind == "invitation_changed":  # the invitee's alone, about a room they are not in (yet)
                for connection in self._index.of_user(event.invitation_changed.invitation.user_id):
                    connection.writer.send(text)
                continue
            self._to_room(event, kind, text)
            if kind == "member_left":
                self._presence.left(event.member_left.user_id, event.room_id)

    def _to_reader(self, user_id: int, room_id: int, text: str) -> None:
        # A read marker (or a member's own settings) is private to that user's own sockets.
        for connection in self._index.of_user(user_id):
            if room_id in connection.rooms:
                connection.writer.send(text)

    def _to_room(self, event: pb.Event, kind: str | None, text: str) -> None:
        room_id = event.room_id
        seq, change = event_position(event)
        typing_user = event.typing.user_id if kind == "typing" else 0  # not echoed to the typer
        created_at = 0.0  # a new message's, for its delivery lag (edge_gateway/metrics.py)
        if kind == "message_created":
            stamp = event.message_created.created_at
            created_at = stamp.seconds + stamp.nanos / 1e9
        sent = 0
        for connection in self._index.in_room(room_id):
            if connection.user_id != typing_user and connection.deliver(
                room_id, seq, change, text, created_at=created_at
            ):
                sent += 1
        if created_at and sent:  # one clock read for the room: the lag of its last write, microseconds after the first
            metrics.delivered(created_at, sent)
