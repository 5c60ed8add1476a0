"""How many sockets a user holds, and how many not yet signed in come from one address, on this gateway.

Counted per gateway (a load balancer spreads a user's sockets, so the caps are per gateway, not
across them; docs/security.md, "Replay and socket limits"). Over a cap the new socket is closed
with CLOSE_TOO_MANY; the ones already open stay.
"""

from __future__ import annotations

from collections import Counter


class SocketCaps:
    """Open sockets per user and unauthenticated ones per client address, against their caps."""

    def __init__(self, per_user: int, anonymous_per_address: int) -> None:
        self.per_user = per_user
        self.anonymous_per_address = anonymous_per_address
        self._users: Counter[int] = Counter()
        self._anonymous: Counter[str] = Counter()

    def open_anonymous(self, address: str) -> bool:
        """Count a socket that has not signed in yet; False (not counted) when the address is at its cap."""
        if self._anonymous[address] >= self.anonymous_per_address:
            return False
        self._anonymous[address] += 1
        return True

    def close_anonymous(self, address: str) -> None:
        """The socket signed in, or closed before it did."""
        self._anonymous[address] -= 1
        if self._anonymous[address] <= 0:
            del self._anonymous[address]

    def open_user(self, user_id: int) -> bool:
        """Count a signed-in socket; False (not counted) when the user is at their cap."""
        if self._users[user_id] >= self.per_user:
            return False
        self._users[user_id] += 1
        return True

    def close_user(self, user_id: int) -> None:
        """A signed-in socket closed."""
        self._users[user_id] -= 1
        if self._users[user_id] <= 0:
            del self._users[user_id]
