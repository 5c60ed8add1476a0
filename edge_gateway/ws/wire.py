"""The fast path from a frame to a socket: uvicorn's transport, reached through an outermost middleware.

ASGI's `send` is a chain of coroutines per message and, with uvicorn's websockets-sansio server,
never waits: a client that does not read makes the server buffer without limit. For the frames the
gateway pushes (events, acks) it writes the WebSocket frame bytes straight to the socket's transport
instead, which
- builds a frame's bytes once for all its recipients (server frames are unmasked, and the gateway
  turns compression off, so they are the same bytes for everybody), and
- sees the transport's write buffer, so a client that stops reading is cut off (CLOSE_TOO_SLOW)
  instead of growing the gateway's memory.
Anything else (accept, receive, close) still goes through ASGI. When the server is not uvicorn's
websockets-sansio (tests with another server), the endpoint falls back to ASGI sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from websockets.frames import Frame, Opcode
from websockets.protocol import State

SCOPE_KEY = "parley.wire"


@dataclass(frozen=True)
class Wire:
    """A socket's transport and its websockets protocol state (owned by uvicorn)."""

    transport: Any  # asyncio.Transport
    protocol: Any  # websockets ServerProtocol

    @property
    def open(self) -> bool:
        """Whether frames may still be written."""
        return not self.transport.is_closing() and self.protocol.state is State.OPEN

    def buffered(self) -> int:
        """Bytes written but not yet taken by the client's socket."""
        size: int = self.transport.get_write_buffer_size()
        return size

    def write(self, frame: bytes) -> None:
        """Write a serialized frame."""
        self.transport.write(frame)


_last_text: str | None = None
_last_frame = b""


def frame_bytes(text: str) -> bytes:
    """The unmasked text frame for text; the fan-out passes one str object to every recipient in a
    row, so remembering the last one builds each frame once."""
    global _last_text, _last_frame
    if text is not _last_text:
        _last_frame = Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
        _last_text = text
    return _last_frame


def wire_of(scope: Mapping[str, Any]) -> Wire | None:
    """The socket's Wire, when the middleware found one."""
    wire = scope.get(SCOPE_KEY)
    return wire if isinstance(wire, Wire) else None


class WireMiddleware:
    """Outermost ASGI middleware: finds uvicorn's transport behind a WebSocket's `send`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:  # e.g. .state, so the wrapped app still looks like itself
        return getattr(self.app, name)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            server = getattr(send, "__self__", None)  # uvicorn passes its protocol's bound send
            transport = getattr(server, "transport", None)
            protocol = getattr(server, "conn", None)
            if transport is not None and hasattr(transport, "get_write_buffer_size") and hasattr(protocol, "state"):
                scope = {**scope, SCOPE_KEY: Wire(transport, protocol)}
        await self.app(scope, receive, send)
