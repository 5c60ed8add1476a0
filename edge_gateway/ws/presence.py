"""Who is online on the other gateways, as they announced it (kept current by edge_gateway/cluster.py).

A user is online when they have a socket on any gateway. This gateway knows its own sockets; this
view holds everyone else's: user -> gateway -> the rooms of that user there. Each change answers
whether the user just came online or went offline as far as the other gateways go, so that the
fan-out tells its local sockets only about real transitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


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
