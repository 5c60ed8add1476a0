"""One signed-in socket: whose it is, its rooms, and where it is in each, so that no event goes out twice.

Frames reach the client through the socket's SocketWriter (edge_gateway/ws/writer.py), the one
write path; this class decides which room events to hand it.
"""

from __future__ import annotations

from edge_gateway import metrics
from edge_gateway.ws.protocol import CLOSE_TOO_SLOW
from edge_gateway.ws.writer import SocketWriter


class Connection:
    """A signed-in WebSocket and the per-room positions of what it was sent."""

    # Slots: one of these per socket, and 10,000 sockets per gateway are the norm.
    __slots__ = (
        "_held",
        "_hold_limit",
        "expires_at",
        "last_change",
        "last_seq",
        "rooms",
        "session_id",
        "token",
        "user_id",
        "writer",
    )  # fmt: skip

    def __init__(
        self,
        writer: SocketWriter,
        user_id: int,
        token: str,
        expires_at: float,
        hold_limit: int,
        session_id: str = "",
    ) -> None:
        self.writer = writer
        self.user_id = user_id
        self.session_id = session_id
        self.token = token
        self.expires_at = expires_at
        self.rooms: set[int] = set()
        self.last_seq: dict[int, int] = {}  # newest message seq sent, per room
        self.last_change: dict[int, int] = {}  # newest change number sent, per room
        self._hold_limit = hold_limit
        self._held: list[tuple[int, int, int, str, float]] | None = None  # events held during a catch-up

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata that acts as this user."""
        return (("authorization", f"Bearer {self.token}"),)

    def deliver(
        self, room_id: int, seq: int, change: int, text: str, replay: bool = False, created_at: float = 0.0
    ) -> bool:
        """Send a room event once: message events at or below what was sent are duplicates. Whether it went out.

        Live events wait while a catch-up is held; replayed ones (from the catch-up) go out at once.
        created_at (a live new message's, in epoch seconds): a held one's delivery lag is observed when it
        goes out; the fan-out observes the others' once for all recipients (edge_gateway/metrics.py).
        """
        if self._held is not None and not replay:
            if len(self._held) >= self._hold_limit:
                self.writer.close(CLOSE_TOO_SLOW, "too many events while catching up; reconnect and resume")
            else:
                self._held.append((room_id, seq, change, text, created_at))
            return False
        if seq:
            if seq <= self.last_seq.get(room_id, 0):
                return False
            self.last_seq[room_id] = seq
        if change:
            self.last_change[room_id] = max(change, self.last_change.get(room_id, 0))
        return self.writer.send(text)

    def hold(self) -> None:
        """Keep live events back while a catch-up from the database is sent."""
        if self._held is None:
            self._held = []

    def release(self) -> None:
        """Send the held live events (skipping what the catch-up already sent) and go live."""
        held, self._held = self._held or [], None
        for room_id, seq, change, text, created_at in held:
            if self.deliver(room_id, seq, change, text, created_at=created_at) and created_at:
                metrics.delivered(created_at)
