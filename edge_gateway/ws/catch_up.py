"""Catching a socket up: what it missed after its cursors, from chat_svc's database, then live events.

Used when a socket signs in with cursors, and by the fan-out for every socket after the event
stream was broken (from each socket's own positions: resync_cursors).
"""

from __future__ import annotations

import grpc

from edge_gateway import metrics
from edge_gateway.backends import Backends
from edge_gateway.errors import close_code, from_rpc_error
from edge_gateway.ws import protocol as p
from edge_gateway.ws.connection import Connection
from parley.chat.v1 import chat_pb2 as pb

CAUGHT_UP = p.encode({"type": "caught_up"})


async def catch_up(backends: Backends, connection: Connection, cursors: list[pb.RoomCursor]) -> None:
    """Send what the connection missed after its cursors, then caught_up, then the live events held meanwhile."""
    try:
        if cursors:
            metrics.RESUMES.inc()
            metrics.REPLAY_MESSAGES.observe(await _replay(backends, connection, cursors))
        connection.writer.send(CAUGHT_UP)
    except grpc.aio.AioRpcError as exc:
        error = from_rpc_error(exc)
        connection.writer.send(p.encode(p.error_frame(error.name, f"catching up failed: {error.message}")))
        connection.writer.close(close_code(error), f"could not catch up: {error.message}")
    finally:
        connection.release()


async def _replay(backends: Backends, connection: Connection, cursors: list[pb.RoomCursor]) -> int:
    """Send the missed events; how many new messages' frames went out."""
    call = backends.chat.StreamEvents(pb.StreamEventsRequest(cursors=cursors), metadata=connection.metadata)
    messages = 0
    try:
        async for response in call:
            # A socket closed meanwhile (gone, too slow, signed out) stops the replay: no more pages.
            if response.caught_up or not connection.writer.open:
                break
            for event in response.events:
                frame = p.event_frame(event)
                if frame is not None:
                    seq, change = p.event_position(event)
                    if connection.deliver(event.room_id, seq, change, p.encode(frame), replay=True) and seq:
                        messages += 1
    finally:
        call.cancel()
    return messages


def resync_cursors(connection: Connection) -> list[pb.RoomCursor]:
    """Cursors for every room of a connection, from what it was sent so far."""
    return [
        pb.RoomCursor(
            room_id=room_id,
            after_seq=connection.last_seq.get(room_id, 0),
            after_change=connection.last_change.get(room_id, 0),
        )
        for room_id in sorted(connection.rooms)
    ]
