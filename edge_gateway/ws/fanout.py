"""One event stream from chat_svc per gateway process, fanned out to the local sockets.

The pump holds a single StreamEvents(all_rooms) call with the gateway's service token. Each event is
encoded to JSON once and queued on every local socket of a member of its room. Membership events
keep the room -> sockets index current, so rooms joined after connecting are delivered too.

Presence is this gateway's sockets plus, when a broker is configured, the other gateways' users
(RemotePresence, kept current by edge_gateway/cluster.py): a presence frame goes out only when a user
comes online on their first gateway or goes offline from their last one.

If the stream breaks (chat_svc restarted, network), the pump reconnects with backoff and every
socket catches up from the database from its own last seq, so nothing is lost in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Protocol

import grpc

from common.tokens import auth_metadata
from edge_gateway.backends import Backends
from edge_gateway.ws.connection import Connection
from edge_gateway.ws.presence import RemotePresence
from edge_gateway.ws.protocol import CLOSE_REVOKED, encode, event_frame, event_position, presence_frame
from parley.chat.v1 import chat_pb2 as pb

log = logging.getLogger(__name__)

CatchUp = Callable[[Connection], Coroutine[Any, Any, None]]
RESYNC_CONCURRENCY = 32


class Peers(Protocol):
    """The other gateways (edge_gateway/cluster.py): told when this gateway's users come and go."""

    def user_online(self, user_id: int, rooms: set[int]) -> None:
        """The user has sockets here, in these rooms (also sent again when their rooms change)."""

    def user_offline(self, user_id: int) -> None:
        """The user's last socket here closed."""

    def session_ended(self, session_id: str) -> None:
        """A session signed out: its sockets on every gateway close."""


class Fanout:
    """Routes chat_svc's events to local connections; tracks who is online here."""

    def __init__(self, backends: Backends) -> None:
        self.backends = backends
        self.live = False
        self.started = False  # the stream was live once: later breaks are outages, not start-up
        self._by_room: dict[int, set[Connection]] = defaultdict(set)
        self._by_user: dict[int, set[Connection]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._catch_up: CatchUp | None = None
        self.reconnects = 0
        self._resyncs: set[asyncio.Task[None]] = set()
        self._resync_slots = asyncio.Semaphore(RESYNC_CONCURRENCY)
        self.remote = RemotePresence()
        settings = getattr(backends, "settings", None)
        self.presence_room_limit: int = settings.presence_room_limit if settings else 200
        self.peers: Peers | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self, catch_up: CatchUp | None = None) -> None:
        """Start the pump; catch_up(conn) re-syncs a socket after the stream was broken."""
        self._catch_up = catch_up
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
                token = await self.backends.service_token.get()
                call = self.backends.chat.StreamEvents(
                    pb.StreamEventsRequest(all_rooms=True), metadata=auth_metadata(token)
                )
                async for response in call:
                    if response.caught_up:
                        self.live, self.started, delay = True, True, 0.2
                        log.info("event stream from chat_svc is live")
                        if broken:
                            self._resync_all()
                        continue
                    self.dispatch(response.events)
                raise ConnectionError("event stream ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect with backoff
                detail = exc.details() if isinstance(exc, grpc.aio.AioRpcError) else str(exc)
                if self.live or not broken:
                    log.warning("event stream from chat_svc broke (%s); reconnecting", detail)
                self.live, broken = False, True
                self.reconnects += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _resync_all(self) -> None:
        if self._catch_up is None:
            return
        for connections in list(self._by_user.values()):
            for connection in list(connections):
                connection.hold()
                task = asyncio.create_task(self._resync(self._catch_up, connection))
                self._resyncs.add(task)  # keep a reference until done
                task.add_done_callback(self._resyncs.discard)

    async def _resync(self, catch_up: CatchUp, connection: Connection) -> None:
        # A few at a time: thousands of sockets catching up at once would flood chat_svc and MySQL
        # just as they come back. Live events wait in each socket's bounded hold meanwhile.
        async with self._resync_slots:
            await catch_up(connection)

    # -- connections --------------------------------------------------------------------------------

    def register(self, connection: Connection, rooms: set[int]) -> None:
        """Deliver the rooms' events to this connection from now on; announce presence."""
        user_id = connection.user_id
        first = not self._by_user[user_id]
        self._by_user[user_id].add(connection)
        connection.rooms |= rooms
        for room_id in rooms:
            self._by_room[room_id].add(connection)
        if first:
            if not self.remote.is_online(user_id):
                self._announce(user_id, rooms, online=True)
            if self.peers is not None:
                self.peers.user_online(user_id, set(connection.rooms))

    def unregister(self, connection: Connection) -> None:
        """Stop delivering to this connection; announce the user offline if it was their last."""
        for room_id in connection.rooms:
            members = self._by_room.get(room_id)
            if members is not None:
                members.discard(connection)
                if not members:
                    del self._by_room[room_id]
        mine = self._by_user.get(connection.user_id)
        if mine is not None:
            mine.discard(connection)
            if not mine:
                del self._by_user[connection.user_id]
                if not self.remote.is_online(connection.user_id):
                    self._announce(connection.user_id, connection.rooms, online=False)
                if self.peers is not None:
                    self.peers.user_offline(connection.user_id)

    def end_session(self, session_id: str) -> int:
        """Close the sockets of a signed-out session, here and on the other gateways; how many here."""
        if self.peers is not None and session_id:
            self.peers.session_ended(session_id)
        return self.end_local_session(session_id)

    def end_local_session(self, session_id: str) -> int:
        """Close this gateway's sockets of a signed-out session; how many there were."""
        ended = 0
        for connections in list(self._by_user.values()):
            for connection in list(connections):
                if session_id and connection.session_id == session_id:
                    connection.close(CLOSE_REVOKED, "signed out; sign in again")
                    ended += 1
        return ended

    def online(self, room_id: int) -> list[int]:
        """Users of the room with at least one live socket on any gateway, ascending."""
        return sorted({c.user_id for c in self._by_room.get(room_id, ())} | self.remote.in_room(room_id))

    def local_users(self) -> dict[int, set[int]]:
        """Users with sockets on this gateway, and their rooms (for the other gateways)."""
        return {user: self._rooms_here(user) for user in self._by_user}

    def _rooms_here(self, user_id: int) -> set[int]:
        """The rooms of a user's sockets on this gateway."""
        return set().union(*(c.rooms for c in self._by_user.get(user_id, ())))

    # -- the other gateways' users ------------------------------------------------------------------

    def remote_online(self, gateway: str, user_id: int, rooms: set[int]) -> None:
        """A user has sockets on another gateway."""
        if self.remote.online(gateway, user_id, rooms):
            self._announce_remote(user_id, rooms, online=True)

    def remote_offline(self, gateway: str, user_id: int) -> None:
        """A user's last socket on another gateway closed."""
        rooms = self.remote.offline(gateway, user_id)
        if rooms is not None:
            self._announce_remote(user_id, rooms, online=False)

    def remote_replace(self, gateway: str, users: dict[int, set[int]]) -> None:
        """Everything another gateway has online (after a reconnect); announces the differences."""
        came, gone = self.remote.replace(gateway, users)
        for user_id, rooms in came:
            self._announce_remote(user_id, rooms, online=True)
        for user_id, rooms in gone:
            self._announce_remote(user_id, rooms, online=False)

    def _announce_remote(self, user_id: int, rooms: set[int], online: bool) -> None:
        # A user with sockets here stays online whatever the other gateways say.
        if user_id not in self._by_user:
            self._announce(user_id, rooms, online)

    @property
    def connection_count(self) -> int:
        """Live sockets on this gateway."""
        return sum(len(c) for c in self._by_user.values())

    def _announce(self, user_id: int, rooms: set[int], online: bool) -> None:
        for room_id in rooms:
            here = self._by_room.get(room_id, ())
            if len(here) > self.presence_room_limit:
                # Every arrival telling every member is quadratic in the room's size: in big rooms
                # clients ask GET /rooms/{id}/presence instead.
                continue
            text = encode(presence_frame(room_id, user_id, online))
            for connection in here:
                if connection.user_id != user_id:
                    connection.send(text)

    # -- events -------------------------------------------------------------------------------------

    def dispatch(self, events: Iterable[pb.Event]) -> None:
        """Route a batch of events to local sockets, encoding each once."""
        for event in events:
            kind = event.WhichOneof("kind")
            room_id = event.room_id
            if kind == "member_joined":
                self._joined(room_id, event.member_joined.user_id)
            frame = event_frame(event)
            if frame is None:
                continue
            text = encode(frame)
            if kind == "read_marker":  # private to the reader's own sockets
                for connection in tuple(self._by_user.get(event.read_marker.user_id, ())):
                    if room_id in connection.rooms:
                        connection.send(text)
                continue
            seq, change = event_position(event)
            typing_user = event.typing.user_id if kind == "typing" else 0
            for connection in tuple(self._by_room.get(room_id, ())):
                if connection.user_id != typing_user:
                    connection.deliver(room_id, seq, change, text)
            if kind == "member_left":
                self._left(room_id, event.member_left.user_id)

    def _joined(self, room_id: int, user_id: int) -> None:
        for connection in self._by_user.get(user_id, ()):
            if room_id not in connection.rooms:
                connection.rooms.add(room_id)
                connection.last_seq.setdefault(room_id, 0)
                self._by_room[room_id].add(connection)
        self.remote.joined(user_id, room_id)
        local = user_id in self._by_user
        if local and self.peers is not None:
            self.peers.user_online(user_id, self._rooms_here(user_id))
        if local or self.remote.is_online(user_id):  # tell the room's other sockets that a newcomer is online
            self._announce(user_id, {room_id}, online=True)

    def _left(self, room_id: int, user_id: int) -> None:
        self.remote.left(user_id, room_id)
        for connection in self._by_user.get(user_id, ()):
            connection.rooms.discard(room_id)
            members = self._by_room.get(room_id)
            if members is not None:
                members.discard(connection)
