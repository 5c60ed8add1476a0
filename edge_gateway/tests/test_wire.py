"""The direct-to-transport path: frame bytes built once, and slow readers cut off by buffered bytes."""

from __future__ import annotations

from typing import Any, cast

from starlette.websockets import WebSocketState
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from edge_gateway.ws.connection import Connection
from edge_gateway.ws.protocol import CLOSE_TOO_SLOW
from edge_gateway.ws.wire import Wire, WireMiddleware, frame_bytes, wire_of
from edge_gateway.ws.writer import TOO_SLOW, SocketWriter


class Transport:
    """What the gateway needs of an asyncio transport; the client reads nothing."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def get_write_buffer_size(self) -> int:
        return sum(map(len, self.written))

    def is_closing(self) -> bool:
        return self.closing


class Protocol:
    state = State.OPEN


class WebSocket:
    """What the writer needs of a starlette WebSocket to close it: the close it was sent."""

    application_state = WebSocketState.CONNECTED

    def __init__(self) -> None:
        self.closed_with: tuple[int, str] | None = None

    async def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)


def connection(transport: Transport, limit: int = 1000) -> Connection:
    writer = SocketWriter(cast(Any, WebSocket()), Wire(transport, Protocol()), 10, buffer_limit=limit)
    return Connection(writer, 1, "t", 0.0, 10)


def test_frames_are_built_once_and_are_plain_text_frames() -> None:
    text = '{"type":"message"}'
    first, again = frame_bytes(text), frame_bytes(text)
    assert first is again
    assert first == Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


async def test_a_reader_that_stops_reading_is_closed_as_too_slow() -> None:
    transport = Transport()
    conn = connection(transport, limit=1000)
    for _ in range(200):
        conn.deliver(7, 0, 0, "x" * 100)
    assert conn.writer.close_code == CLOSE_TOO_SLOW
    assert 1000 < transport.get_write_buffer_size() < 1300  # stopped right after the limit
    await conn.writer.finished()
    assert cast(WebSocket, conn.writer.websocket).closed_with == (CLOSE_TOO_SLOW, TOO_SLOW)


async def test_nothing_is_written_to_a_closing_transport() -> None:
    transport = Transport()
    conn = connection(transport)
    transport.closing = True
    conn.writer.send("hello")
    assert transport.written == [] and conn.writer.close_code is None


async def test_the_middleware_finds_uvicorns_transport_behind_send() -> None:
    class Server:  # stands in for uvicorn's websockets-sansio protocol
        def __init__(self) -> None:
            self.transport, self.conn = Transport(), Protocol()

        async def send(self, message: Any) -> None:
            pass

    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(wire_of(scope))

    server = Server()
    await WireMiddleware(app)({"type": "websocket"}, None, server.send)
    await WireMiddleware(app)({"type": "websocket"}, None, lambda message: None)
    assert isinstance(seen[0], Wire) and seen[0].transport is server.transport
    assert seen[1] is None  # another server: the endpoint falls back to ASGI sends
