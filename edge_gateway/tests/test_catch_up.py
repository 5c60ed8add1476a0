"""Catching up stops for a socket that closed: no more pages are read from chat_svc's replay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

from edge_gateway.backends import Backends
from edge_gateway.ws.catch_up import catch_up
from edge_gateway.ws.connection import Connection
from edge_gateway.ws.writer import SocketWriter
from parley.chat.v1 import chat_pb2 as pb

PAGES = 100


class LongReplay:
    """A StreamEvents call replaying PAGES pages of one message each; counts the pages read."""

    def __init__(self, writer: SocketWriter) -> None:
        self.read = 0
        self.cancelled = False
        self._writer = writer

    def __call__(self, request: pb.StreamEventsRequest, metadata: Any = None) -> LongReplay:
        """The call (the stub method)."""
        return self

    async def __aiter__(self) -> AsyncIterator[pb.StreamEventsResponse]:
        for seq in range(1, PAGES + 1):
            self.read += 1
            message = pb.Message(room_id=1, seq=seq, change=seq, sender_id=2, client_msg_id=f"m{seq}", body="x")
            yield pb.StreamEventsResponse(events=[pb.Event(room_id=1, message_created=message)])
            self._writer.close(1000, "the client left")  # as when the client is gone after the first page
        yield pb.StreamEventsResponse(caught_up=True)

    def cancel(self) -> None:
        """The gateway let go of the call."""
        self.cancelled = True


async def test_a_socket_closed_during_its_replay_stops_reading_pages() -> None:
    """A socket that closes after its first replayed page makes catch_up read at most 2 of 100 pages."""
    writer = SocketWriter(cast(Any, None), None, 1000)  # no websocket: frames stay in the outbox
    replay = LongReplay(writer)
    backends = cast(Backends, SimpleNamespace(chat=SimpleNamespace(StreamEvents=replay)))
    connection = Connection(writer, 2, "token", 0.0, 1000)
    connection.hold()
    await catch_up(backends, connection, [pb.RoomCursor(room_id=1, after_seq=0)])
    assert replay.read <= 2
    assert replay.cancelled
