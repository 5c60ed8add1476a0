"""The WebSocket endpoint: sign in with the first frame, catch up, then live events and commands."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import grpc
from fastapi import APIRouter, WebSocket

from common.tokens import Principal
from edge_gateway.backends import Backends
from edge_gateway.convert import my_room_json
from edge_gateway.deps import verify_user_token
from edge_gateway.errors import ApiError, close_code, from_rpc_error
from edge_gateway.ws import frames as f, protocol as p
from edge_gateway.ws.catch_up import catch_up
from edge_gateway.ws.commands import Commands
from edge_gateway.ws.connection import Connection
from edge_gateway.ws.presence import Presence
from edge_gateway.ws.wire import wire_of
from edge_gateway.ws.writer import SocketWriter
from parley.chat.v1 import chat_pb2 as pb

log = logging.getLogger(__name__)

router = APIRouter(tags=["websocket"])


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    """Chat in real time: see docs/protocol.md for the frames and close codes."""
    backends: Backends = websocket.app.state.backends
    settings = backends.settings
    await websocket.accept()
    writer = SocketWriter(
        websocket, wire_of(websocket.scope), settings.ws_send_queue_frames, settings.ws_send_buffer_bytes
    )
    writer.start()
    try:
        signed_in = await _sign_in(websocket, backends, writer)
        if signed_in is not None:
            frame, principal = signed_in
            connection = Connection(
                writer,
                principal.user_id,
                frame.token,
                principal.expires_at,
                settings.ws_send_queue_frames,
                principal.session_id,
            )
            await _serve(websocket, backends, connection, principal, frame.cursors)
    except Exception:
        log.exception("websocket failed")
        writer.close(p.CLOSE_INTERNAL, "internal error; reconnect and resume")
    finally:
        writer.close(1000, "bye")
        await writer.finished()


async def _receive(websocket: WebSocket, wait_s: float) -> str | bytes | None:
    """The next data frame, None when the peer disconnected; TimeoutError after wait_s."""
    async with asyncio.timeout(wait_s):
        message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    data: str | bytes | None = message.get("text")
    if data is None:
        data = message.get("bytes") or b""
    return data


def _refuse(writer: SocketWriter, code: int, error: str, message: str) -> None:
    writer.send(p.encode(p.error_frame(error, message)))
    writer.close(code, message)


async def _sign_in(
    websocket: WebSocket, backends: Backends, writer: SocketWriter
) -> tuple[f.AuthFrame, Principal] | None:
    """The first frame signs in (the token never travels in the URL, so it is never logged); None when refused."""
    settings = backends.settings
    try:
        data = await _receive(websocket, settings.ws_auth_timeout_seconds)
    except TimeoutError:
        _refuse(writer, p.CLOSE_UNAUTHENTICATED, "unauthenticated", "send an auth frame first")
        return None
    if data is None:
        return None
    try:
        frame = p.parse(data, settings.ws_max_frame_bytes)
        if not isinstance(frame, f.AuthFrame):
            raise p.ProtocolError('the first frame must be {"type": "auth", "token": ...}')
        return frame, await verify_user_token(backends, frame.token)
    except p.ProtocolError as exc:
        _refuse(writer, p.CLOSE_UNAUTHENTICATED, "unauthenticated", exc.message)
    except ApiError as exc:
        _refuse(writer, close_code(exc), exc.name, exc.message)
    return None


async def _serve(
    websocket: WebSocket, backends: Backends, connection: Connection, principal: Principal, wanted: list[f.Cursor]
) -> None:
    """A signed-in socket from its ready frame until it closes."""
    presence: Presence = websocket.app.state.presence
    commands = Commands(backends, connection, websocket.app.state.sends)
    try:
        cursors = await _ready(backends, connection, principal, wanted)
        if cursors is None:
            return
        # Live events are held while the missed ones are replayed, then released without duplicates.
        connection.hold()
        presence.connected(connection, set(connection.last_seq))
        await catch_up(backends, connection, cursors)
        await _read_commands(websocket, backends, connection, commands)
    finally:
        commands.stop()
        presence.disconnected(connection)


async def _ready(
    backends: Backends, connection: Connection, principal: Principal, wanted: list[f.Cursor]
) -> list[pb.RoomCursor] | None:
    """Load the user's rooms and send ready; the cursors to catch up from, or None when the rooms did not load."""
    writer = connection.writer
    try:
        mine = await backends.chat.ListMyRooms(
            pb.ListMyRoomsRequest(), metadata=connection.metadata, timeout=backends.timeout
        )
    except grpc.aio.AioRpcError as exc:
        error = from_rpc_error(exc)
        writer.send(p.encode(p.error_frame(error.name, error.message)))
        writer.close(close_code(error), f"could not load your rooms: {error.message}")
        return None
    cursors, strangers = _positions(connection, mine.rooms, wanted)
    settings = backends.settings
    ready = {
        "type": "ready",
        "protocol": p.PROTOCOL_VERSION,
        "user_id": principal.user_id,
        "username": principal.username,
        "session_expires_at": principal.expires_at,
        "heartbeat_seconds": settings.ws_heartbeat_seconds,
        "idle_timeout_seconds": settings.ws_idle_timeout_seconds,
        "rooms": [my_room_json(entry) for entry in mine.rooms],
    }
    writer.send(p.encode(ready))
    for room_id in strangers:
        writer.send(p.encode(p.error_frame("permission_denied", f"not a member of room {room_id}; cursor ignored")))
    return cursors


def _positions(
    connection: Connection, rooms: Iterable[pb.MyRoom], wanted: list[f.Cursor]
) -> tuple[list[pb.RoomCursor], list[int]]:
    """Set where the socket is in each of its rooms (the client's cursor, else the room's end).

    Returns the cursors to catch up from, and the rooms of cursors the user is not in.
    """
    asked = {c.room_id: c for c in wanted}
    cursors = []
    for entry in rooms:
        room = entry.room
        cursor = asked.pop(room.id, None)
        if cursor is None:
            connection.last_seq[room.id], connection.last_change[room.id] = room.last_seq, room.last_change
            continue
        connection.last_seq[room.id], connection.last_change[room.id] = cursor.after_seq, cursor.after_change
        cursors.append(pb.RoomCursor(room_id=room.id, after_seq=cursor.after_seq, after_change=cursor.after_change))
    return cursors, sorted(asked)


async def _read_commands(websocket: WebSocket, backends: Backends, connection: Connection, commands: Commands) -> None:
    """Act on the client's frames until it leaves, goes idle, or the socket is closed."""
    settings = backends.settings
    writer = connection.writer
    while not writer.closed:
        try:
            data = await _receive(websocket, settings.ws_idle_timeout_seconds)
        except TimeoutError:
            writer.close(p.CLOSE_IDLE, "no frames for too long; send ping frames to stay connected")
            return
        if data is None:
            return
        try:
            command = p.parse(data, settings.ws_max_frame_bytes)
        except p.ProtocolError as exc:
            writer.send(p.encode(p.error_frame("invalid_argument", exc.message, exc.ref)))
            continue
        await commands.submit(command)
