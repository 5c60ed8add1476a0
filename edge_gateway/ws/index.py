"""Which of this gateway's sockets are in which rooms, and whose they are: the fan-out's address book.

Kept as two maps (room -> sockets, user -> sockets) because the fan-out asks "who gets this room's
event" once per event and presence asks "does this user still have a socket here" once per close.
Each Connection's own `rooms` is kept in step, so a socket knows its rooms without a lookup.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from edge_gateway.ws.connection import Connection


class SocketIndex:
    """Local sockets by room and by user."""

    def __init__(self) -> None:
        self._by_room: dict[int, set[Connection]] = defaultdict(set)
        self._by_user: dict[int, set[Connection]] = defaultdict(set)

    def add(self, connection: Connection, rooms: set[int]) -> bool:
        """Index a socket in these rooms; True if it is its user's first socket here."""
        first = not self._by_user[connection.user_id]
        self._by_user[connection.user_id].add(connection)
        connection.rooms |= rooms
        for room_id in rooms:
            self._by_room[room_id].add(connection)
        return first

    def remove(self, connection: Connection) -> bool:
        """Forget a socket; True if it was its user's last socket here."""
        for room_id in connection.rooms:
            self._discard(room_id, connection)
        mine = self._by_user.get(connection.user_id)
        if mine is None:
            return False
        mine.discard(connection)
        if mine:
            return False
        del self._by_user[connection.user_id]
        return True

    def join(self, user_id: int, room_id: int) -> None:
        """The user's sockets here get the room's events from now on."""
        for connection in self._by_user.get(user_id, ()):
            if room_id not in connection.rooms:
                connection.rooms.add(room_id)
                connection.last_seq.setdefault(room_id, 0)
                self._by_room[room_id].add(connection)

    def leave(self, user_id: int, room_id: int) -> None:
        """The user's sockets here are no longer in the room."""
        for connection in self._by_user.get(user_id, ()):
            connection.rooms.discard(room_id)
            self._discard(room_id, connection)

    def _discard(self, room_id: int, connection: Connection) -> None:
        members = self._by_room.get(room_id)
        if members is not None:
            members.discard(connection)
            if not members:
                del self._by_room[room_id]

    def in_room(self, room_id: int) -> tuple[Connection, ...]:
        """The room's sockets here (a copy: delivering may close and remove one)."""
        return tuple(self._by_room.get(room_id, ()))

    def of_user(self, user_id: int) -> tuple[Connection, ...]:
        """The user's sockets here."""
        return tuple(self._by_user.get(user_id, ()))

    def user_count(self) -> int:
        """How many users have a socket here."""
        return len(self._by_user)

    def has_user(self, user_id: int) -> bool:
        """Whether the user has a socket here."""
        return user_id in self._by_user

    def rooms_of(self, user_id: int) -> set[int]:
        """The rooms of a user's sockets here."""
        return set().union(*(c.rooms for c in self._by_user.get(user_id, ())))

    def users(self) -> dict[int, set[int]]:
        """Users with sockets here, and their rooms."""
        return {user_id: self.rooms_of(user_id) for user_id in self._by_user}

    def room_size(self, room_id: int) -> int:
        """How many sockets here are in the room."""
        return len(self._by_room.get(room_id, ()))

    def __iter__(self) -> Iterator[Connection]:
        """Every socket here (a snapshot)."""
        return iter([c for connections in self._by_user.values() for c in connections])

    def __len__(self) -> int:
        """How many sockets are here."""
        return sum(len(c) for c in self._by_user.values())
