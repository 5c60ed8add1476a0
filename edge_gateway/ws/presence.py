"""Who is online, here and on the other gateways, and the presence frames sent when that changes.

A user is online while they have a socket on any gateway. This gateway knows its own sockets (the
SocketIndex, which Presence keeps current as sockets open and close and users join and leave
rooms); RemotePresence holds everyone else's, as the other gateways announced it (kept current by
edge_gateway/cluster.py): user -> gateway -> the rooms of that user there. A presence frame goes
out only when a user comes online on their first gateway or goes offline from their last one.
The other gateways hear of this gateway's users (and of sign-outs) through Peers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from edge_gateway.ws.connection import Connection
from edge_gateway.ws.index import SocketIndex
from edge_gateway.ws.protocol import CLOSE_DISABLED, CLOSE_REVOKED, encode, presence_frame


class Peers(Protocol):
    """The other gateways (edge_gateway/cluster.py): told when this gateway's users come and go."""

    def user_online(self, user_id: int, rooms: set[int]) -> None:
        """The user has sockets here, in these rooms (also sent again when their rooms change)."""

    def user_offline(self, user_id: int) -> None:
        """The user's last socket here closed."""

    def session_ended(self, session_id: str) -> None:
        """A session signed out: its sockets on every gateway close."""


class NoPeers:
    """A gateway on its own (no broker configured): nobody to tell."""

    def user_online(self, user_id: int, rooms: set[int]) -> None:
        """Nobody to tell."""

    def user_offline(self, user_id: int) -> None:
        """Nobody to tell."""

    def session_ended(self, session_id: str) -> None:
        """Nobody to tell."""


class RemotePresence:
    """Users online on other gateways, and their rooms."""

    def __init__(self) -> None:
        self._users: dict[int, dict[str, set[int]]] = {}

    def is_online(self, user_id: int) -> bool:
        """Whether the user has a socket on another gateway."""
        return user_id in self._users

    def online(self, gateway: str, user_id: int, rooms: Iterable[int]) -> bool:
        """The user is online on `gateway` in these rooms; True if they were on no other gateway before."""
        where = self._users.setdefault(user_id, {})
        first = not where
        where[gateway] = set(rooms)
        return first

    def offline(self, gateway: str, user_id: int) -> set[int] | None:
        """The user left `gateway`; their rooms if they are now on no other gateway, else None."""
        where = self._users.get(user_id)
        if where is None or gateway not in where:
            return None
        rooms = where.pop(gateway)
        if where:
            return None
        del self._users[user_id]
        return rooms

    def replace(
        self, gateway: str, users: Mapping[int, set[int]]
    ) -> tuple[list[tuple[int, set[int]]], list[tuple[int, set[int]]]]:
        """Set everything known about `gateway` at once; (came online, went offline) elsewhere."""
        came = [(user, rooms) for user, rooms in users.items() if self.online(gateway, user, rooms)]
        gone = []
        for user in [u for u, where in self._users.items() if gateway in where and u not in users]:
            rooms = self.offline(gateway, user)
            if rooms is not None:
                gone.append((user, rooms))
        return came, gone

    def gateway_gone(self, gateway: str) -> list[tuple[int, set[int]]]:
        """Forget a gateway; the users (and rooms) now online on no other gateway."""
        return self.replace(gateway, {})[1]

    def gateways(self) -> set[str]:
        """Gateways that have users online."""
        return {gateway for where in self._users.values() for gateway in where}

    def joined(self, user_id: int, room_id: int) -> None:
        """A user online elsewhere joined a room."""
        for rooms in self._users.get(user_id, {}).values():
            rooms.add(room_id)

    def left(self, user_id: int, room_id: int) -> None:
        """A user online elsewhere left a room."""
        for rooms in self._users.get(user_id, {}).values():
            rooms.discard(room_id)

    def in_room(self, room_id: int) -> set[int]:
        """Users of the room online on another gateway."""
        return {user for user, where in self._users.items() if any(room_id in rooms for rooms in where.values())}


class Presence:
    """Who is online; keeps the SocketIndex current and announces real transitions to local sockets."""

    def __init__(self, index: SocketIndex, peers: Peers, room_limit: int) -> None:
        self._index = index
        self._peers = peers
        self._remote = RemotePresence()
        # Rooms with more sockets here get no presence frames: every arrival telling every member is
        # quadratic in the room's size, so clients of big rooms ask GET /rooms/{id}/presence instead.
        self._room_limit = room_limit

    # -- this gateway's sockets ---------------------------------------------------------------------

    def connected(self, connection: Connection, rooms: set[int]) -> None:
        """Deliver the rooms' events to this socket from now on; announce its user if it is their first."""
        if not self._index.add(connection, rooms):
            return
        if not self._remote.is_online(connection.user_id):
            self._announce(connection.user_id, rooms, online=True)
        self._peers.user_online(connection.user_id, set(connection.rooms))

    def disconnected(self, connection: Connection) -> None:
        """Stop delivering to this socket; announce its user offline if it was their last."""
        if not self._index.remove(connection):
            return
        if not self._remote.is_online(connection.user_id):
            self._announce(connection.user_id, connection.rooms, online=False)
        self._peers.user_offline(connection.user_id)

    def joined(self, user_id: int, room_id: int) -> None:
        """A user joined a room: their sockets here get its events, its members learn they are online."""
        self._index.join(user_id, room_id)
        self._remote.joined(user_id, room_id)
        local = self._index.has_user(user_id)
        if local:
            self._peers.user_online(user_id, self._index.rooms_of(user_id))
        if local or self._remote.is_online(user_id):
            self._announce(user_id, {room_id}, online=True)

    def left(self, user_id: int, room_id: int) -> None:
        """A user left a room: their sockets here stop getting its events."""
        self._remote.left(user_id, room_id)
        self._index.leave(user_id, room_id)

    def online(self, room_id: int) -> list[int]:
        """Users of the room with at least one live socket on any gateway, ascending."""
        here = {c.user_id for c in self._index.in_room(room_id)}
        return sorted(here | self._remote.in_room(room_id))

    def local_users(self) -> dict[int, set[int]]:
        """Users with sockets on this gateway, and their rooms (for the other gateways)."""
        return self._index.users()

    # -- sign-outs ----------------------------------------------------------------------------------

    def end_session(self, session_id: str) -> int:
        """Close the sockets of a signed-out session, here and on the other gateways; how many here."""
        if session_id:
            self._peers.session_ended(session_id)
        return self.end_local_session(session_id)

    def end_local_session(self, session_id: str, account_disabled: bool = False) -> int:
        """Close this gateway's sockets of an ended session; how many there were."""
        if not session_id:
            return 0
        ended = [c for c in self._index if c.session_id == session_id]
        code, why = (
            (CLOSE_DISABLED, "account disabled") if account_disabled else (CLOSE_REVOKED, "signed out; sign in again")
        )
        for connection in ended:
            connection.writer.close(code, why)
        return len(ended)

    # -- the other gateways' users ------------------------------------------------------------------

    def remote_online(self, gateway: str, user_id: int, rooms: set[int]) -> None:
        """A user has sockets on another gateway."""
        if self._remote.online(gateway, user_id, rooms):
            self._announce_remote(user_id, rooms, online=True)

    def remote_offline(self, gateway: str, user_id: int) -> None:
        """A user's last socket on another gateway closed."""
        rooms = self._remote.offline(gateway, user_id)
        if rooms is not None:
            self._announce_remote(user_id, rooms, online=False)

    def remote_replace(self, gateway: str, users: dict[int, set[int]]) -> None:
        """Everything another gateway has online (after a reconnect; {} when it is gone); announces changes."""
        came, gone = self._remote.replace(gateway, users)
        for user_id, rooms in came:
            self._announce_remote(user_id, rooms, online=True)
        for user_id, rooms in gone:
            self._announce_remote(user_id, rooms, online=False)

    def remote_gateways(self) -> set[str]:
        """The other gateways that have users online, as far as this one knows."""
        return self._remote.gateways()

    def _announce_remote(self, user_id: int, rooms: set[int], online: bool) -> None:
        # A user with sockets here stays online whatever the other gateways say.
        if not self._index.has_user(user_id):
            self._announce(user_id, rooms, online)

    def _announce(self, user_id: int, rooms: Iterable[int], online: bool) -> None:
        for room_id in rooms:
            if self._index.room_size(room_id) > self._room_limit:
                continue
            text = encode(presence_frame(room_id, user_id, online))
            for connection in self._index.in_room(room_id):
                if connection.user_id != user_id:
                    connection.writer.send(text)
