"""The one way frames reach a client: every frame to a socket goes through SocketWriter.send, and its end through close.

Under uvicorn (the Wire of edge_gateway/ws/wire.py), frames are written straight to the socket's
transport, and a client whose unread bytes pass `buffer_limit` is closed with CLOSE_TOO_SLOW (it
reconnects and resumes from its last seq) instead of holding memory or delaying everybody else.
Without a Wire, frames go through a bounded outbox drained by a writer task with ASGI sends, and a
full outbox closes the socket the same way. Either way a close goes out after the frames sent
before it, and nothing is written after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import WebSocket
from starlette.websockets import WebSocketState

from edge_gateway import metrics
from edge_gateway.ws.protocol import CLOSE_TOO_SLOW
from edge_gateway.ws.wire import Wire, frame_bytes

log = logging.getLogger(__name__)

TOO_SLOW = "client too slow to read; reconnect and resume from your last seq"


class SocketWriter:
    """Writes one socket's frames, without blocking the fan-out, and closes it once."""

    # Slots: one of these per socket, and 10,000 sockets per gateway are the norm.
    __slots__ = ("_buffer_limit", "_closer", "_outbox", "_task", "_wire", "close_code", "close_reason", "websocket")

    def __init__(self, websocket: WebSocket, wire: Wire | None, outbox_limit: int, buffer_limit: int = 1 << 20) -> None:
        self.websocket = websocket
        self._wire = wire
        self._buffer_limit = buffer_limit
        # Without a Wire only: with one, a socket needs no queue and no task of its own (memory).
        self._outbox: asyncio.Queue[str | None] | None = None if wire else asyncio.Queue(maxsize=outbox_limit)
        self._task: asyncio.Task[None] | None = None  # without a Wire: the outbox's writer
        self._closer: asyncio.Task[None] | None = None  # with a Wire: the close, once started
        self.close_code: int | None = None
        self.close_reason = ""

    @property
    def closed(self) -> bool:
        """Whether close() was called: nothing more is written."""
        return self.close_code is not None

    @property
    def open(self) -> bool:
        """Whether frames can still reach the client: not closed, and its connection not gone."""
        if self.close_code is not None:
            return False
        if self._wire is not None:
            return self._wire.open
        return self.websocket is None or self.websocket.client_state == WebSocketState.CONNECTED

    def send(self, text: str) -> bool:
        """Write (or queue) a frame; close the socket as too slow when it stopped reading. Whether it went out."""
        if self.close_code is not None:
            return False
        wire = self._wire
        if wire is not None:
            if not wire.open:
                return False  # the client is gone; the endpoint's read loop sees it and cleans up
            if wire.buffered() > self._buffer_limit:
                self.close(CLOSE_TOO_SLOW, TOO_SLOW)
                return False
            data = frame_bytes(text)
            wire.write(data)
            metrics.frame_out(text, len(data))
            return True
        assert self._outbox is not None
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.close(CLOSE_TOO_SLOW, TOO_SLOW)
            return False
        metrics.frame_out(text)
        return True

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already written or queued (or at once when the outbox is full)."""
        if self.close_code is not None:
            return
        self.close_code, self.close_reason = code, reason
        metrics.CLOSES.labels(str(code)).inc()
        if self._outbox is None:
            self._closer = asyncio.get_running_loop().create_task(self._close_socket())
            return
        if self._outbox.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:
                    self._outbox.get_nowait()
        self._outbox.put_nowait(None)

    def start(self) -> None:
        """Start the outbox's writer task (without a Wire; with one there is nothing to start)."""
        if self._outbox is not None and self._task is None:
            self._task = asyncio.create_task(self._write_loop())

    async def finished(self) -> None:
        """Wait (briefly) until the queued frames and the close went out."""
        for task in (self._task, self._closer):
            if task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, 5)

    async def _write_loop(self) -> None:
        """Write queued frames until close() is called, then close the socket."""
        assert self._outbox is not None
        try:
            while (text := await self._outbox.get()) is not None:
                await self.websocket.send_text(text)
        except Exception:
            log.debug("write to a socket failed", exc_info=True)
            return
        await self._close_socket()

    async def _close_socket(self) -> None:
        if self.websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await self.websocket.close(self.close_code or 1000, self.close_reason[:120])
