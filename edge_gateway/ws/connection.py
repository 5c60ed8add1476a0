"""One browser's socket: where the client is, and how frames reach it without blocking the fan-out.

Under uvicorn (the Wire of edge_gateway/ws/wire.py), frames are written straight to the socket's
transport, and a client whose unread bytes pass `buffer_limit` is closed with CLOSE_TOO_SLOW (it
reconnects and resumes from its last seq) instead of holding memory or delaying everybody else.
Without a Wire, frames go through a bounded outbox drained by a writer task with ASGI sends, and a
full outbox closes the socket the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import WebSocket
from starlette.websockets import WebSocketState

from edge_gateway.ws.protocol import CLOSE_TOO_SLOW
from edge_gateway.ws.wire import Wire, frame_bytes

log = logging.getLogger(__name__)

TOO_SLOW = "client too slow to read; reconnect and resume from your last seq"


class Connection:
    """A signed-in WebSocket and the per-room positions of what it was sent."""

    # Slots: one of these per socket, and 10,000 sockets per gateway are the norm.
    __slots__ = (
        "_buffer_limit",
        "_closer",
        "_held",
        "_outbox",
        "_outbox_limit",
        "_wire",
        "close_code",
        "close_reason",
        "expires_at",
        "last_change",
        "last_seq",
        "rooms",
        "session_id",
        "token",
        "user_id",
        "websocket",
    )  # fmt: skip

    def __init__(
        self,
        websocket: WebSocket,
        user_id: int,
        token: str,
        expires_at: float,
        outbox_limit: int,
        session_id: str = "",
        wire: Wire | None = None,
        buffer_limit: int = 1 << 20,
    ) -> None:
        self.websocket = websocket
        self._wire = wire
        self._buffer_limit = buffer_limit
        self._closer: asyncio.Task[None] | None = None  # with a Wire: the close, once started
        self.user_id = user_id
        self.session_id = session_id
        self.token = token
        self.expires_at = expires_at
        self.rooms: set[int] = set()
        self.last_seq: dict[int, int] = {}  # newest message seq sent, per room
        self.last_change: dict[int, int] = {}  # newest change number sent, per room
        # Without a Wire only: with one, a socket needs no queue and no task of its own (memory).
        self._outbox: asyncio.Queue[str | None] | None = None if wire else asyncio.Queue(maxsize=outbox_limit)
        self._outbox_limit = outbox_limit
        self._held: list[tuple[int, int, int, str]] | None = None  # events held during a catch-up
        self.close_code: int | None = None
        self.close_reason = ""

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata that acts as this user."""
        return (("authorization", f"Bearer {self.token}"),)

    # -- sending ------------------------------------------------------------------------------------

    def send(self, text: str) -> None:
        """Write (or queue) a frame; close the socket as too slow when it stopped reading."""
        if self.close_code is not None:
            return
        wire = self._wire
        if wire is not None:
            if not wire.open:
                return  # the client is gone; the endpoint's read loop sees it and cleans up
            if wire.buffered() > self._buffer_limit:
                self.close(CLOSE_TOO_SLOW, TOO_SLOW)
            else:
                wire.write(frame_bytes(text))
            return
        assert self._outbox is not None
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.close(CLOSE_TOO_SLOW, TOO_SLOW)

    def deliver(self, room_id: int, seq: int, change: int, text: str, replay: bool = False) -> None:
        """Send a room event once: message events at or below what was sent are duplicates.

        Live events wait while a catch-up is held; replayed ones (from the catch-up) go out at once.
        """
        if self._held is not None and not replay:
            if len(self._held) >= self._outbox_limit:
                self.close(CLOSE_TOO_SLOW, "too many events while catching up; reconnect and resume")
            else:
                self._held.append((room_id, seq, change, text))
            return
        if seq:
            if seq <= self.last_seq.get(room_id, 0):
                return
            self.last_seq[room_id] = seq
        if change:
            self.last_change[room_id] = max(change, self.last_change.get(room_id, 0))
        self.send(text)

    def hold(self) -> None:
        """Keep live events back while a catch-up from the database is sent."""
        if self._held is None:
            self._held = []

    def release(self) -> None:
        """Send the held live events (skipping what the catch-up already sent) and go live."""
        held, self._held = self._held or [], None
        for room_id, seq, change, text in held:
            self.deliver(room_id, seq, change, text)

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued (or at once when the outbox is full)."""
        if self.close_code is not None:
            return
        self.close_code, self.close_reason = code, reason
        if self._outbox is None:
            self._closer = asyncio.get_running_loop().create_task(self._close_socket())
            return
        if self._outbox.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:
                    self._outbox.get_nowait()
        self._outbox.put_nowait(None)

    def start(self) -> asyncio.Task[None] | None:
        """The writer task, when frames go through the outbox (without a Wire)."""
        return None if self._outbox is None else asyncio.create_task(self._write_loop())

    async def finished(self) -> None:
        """Wait (briefly) until the socket's close went out."""
        if self._closer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._closer, 5)

    async def _write_loop(self) -> None:
        """Write queued frames until close() is called, then close the socket."""
        assert self._outbox is not None
        try:
            while (text := await self._outbox.get()) is not None:
                await self.websocket.send_text(text)
        except Exception:
            log.debug("write to user %s failed", self.user_id, exc_info=True)
            return
        await self._close_socket()

    async def _close_socket(self) -> None:
        if getattr(self.websocket, "application_state", None) == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await self.websocket.close(self.close_code or 1000, self.close_reason[:120])
