"""The WebSocket endpoint: sign in with the first frame, catch up, then live events and commands."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import grpc
from fastapi import APIRouter, WebSocket

from common.limits import ROOMS_PAGE_MAX
from common.tokens import Principal
from edge_gateway import metrics
from edge_gateway.backends import Backends
from edge_gateway.convert import my_room_json
from edge_gateway.deps import client_address, verify_user_token
from edge_gateway.errors import ApiError, close_code, from_rpc_error
from edge_gateway.rates import RateLimited, RateLimits
from edge_gateway.ws import frames as f, protocol as p
from edge_gateway.ws.caps import SocketCaps
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
    metrics.SOCKETS.inc()
    writer = SocketWriter(
        websocket, wire_of(websocket.scope), settings.ws_send_queue_frames, settings.ws_send_buffer_bytes
    )
    writer.start()
    caps: SocketCaps = websocket.app.state.socket_caps
    address = client_address(websocket)
    try:
        if not await _admitted(websocket, caps, address, writer):
            return
        try:
            signed_in = await _sign_in(websocket, backends, writer)
        finally:
            caps.close_anonymous(address)
        if signed_in is not None:
            frame, principal = signed_in
            if not caps.open_user(principal.user_id):
                message = f"you have {caps.per_user} sockets open here already; close one (a tab) first"
                _refuse(writer, p.CLOSE_TOO_MANY, "resource_exhausted", message)
                return
            try:
                connection = Connection(
                    writer,
                    principal.user_id,
                    frame.token,
                    principal.expires_at,
                    settings.ws_send_queue_frames,
                    principal.session_id,
                )
                await _serve(websocket, backends, connection, principal, frame.cursors)
            finally:
                caps.close_user(principal.user_id)
    except Exception:
        log.exception("websocket failed")
        writer.close(p.CLOSE_INTERNAL, "internal error; reconnect and resume")
    finally:
        metrics.SOCKETS.dec()
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


def _refuse(writer: SocketWriter, code: int, error: str, message: str, retry_after_ms: int | None = None) -> None:
    writer.send(p.encode(p.error_frame(error, message, retry_after_ms=retry_after_ms)))
    writer.close(code, message)


async def _admitted(websocket: WebSocket, caps: SocketCaps, address: str, writer: SocketWriter) -> bool:
    """Whether the address may open one more socket (its rate, its unauthenticated cap); counted when it may."""
    rates: RateLimits = websocket.app.state.rates
    try:
        await rates.hit("ws_connect", address)
    except RateLimited as error:
        _refuse(writer, p.CLOSE_TOO_MANY, error.name, error.message, error.retry_after_ms)
        return False
    if not caps.open_anonymous(address):
        message = f"{caps.anonymous_per_address} sockets from your address have not signed in yet; sign in first"
        _refuse(writer, p.CLOSE_TOO_MANY, "resource_exhausted", message)
        return False
    return True


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
        metrics.frame_in(frame.type)
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
    commands = Commands(backends, connection, websocket.app.state.sends, websocket.app.state.rates)
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
    """Load the user's rooms and send ready; the cursors to catch up from, or None when the rooms did not load.

    The ready frame carries the first page; the socket follows every room (each page of ListMyRooms is
    read here), so that events of all of them come whatever the client has loaded.
    """
    writer = connection.writer
    settings = backends.settings
    try:
        pages = [await _rooms_page(backends, connection, 0, settings.ws_ready_rooms)]
        while pages[-1].has_more:
            pages.append(await _rooms_page(backends, connection, pages[-1].rooms[-1].room.id, ROOMS_PAGE_MAX))
    except grpc.aio.AioRpcError as exc:
        error = from_rpc_error(exc)
        writer.send(p.encode(p.error_frame(error.name, error.message)))
        writer.close(close_code(error), f"could not load your rooms: {error.message}")
        return None
    cursors, strangers = _positions(connection, [entry for page in pages for entry in page.rooms], wanted)
    first = pages[0]
    ready = {
        "type": "ready",
        "protocol": p.PROTOCOL_VERSION,
        "user_id": principal.user_id,
        "username": principal.username,
        "session_expires_at": principal.expires_at,
        "heartbeat_seconds": settings.ws_heartbeat_seconds,
        "idle_timeout_seconds": settings.ws_idle_timeout_seconds,
        "rooms": [my_room_json(entry) for entry in first.rooms],
        "more_rooms": first.has_more,
    }
    writer.send(p.encode(ready))
    for room_id in strangers:
        writer.send(p.encode(p.error_frame("permission_denied", f"not a member of room {room_id}; cursor ignored")))
    return cursors


async def _rooms_page(backends: Backends, connection: Connection, after: int, limit: int) -> pb.ListMyRoomsResponse:
    request = pb.ListMyRoomsRequest(after_room_id=after, limit=limit)
    response: pb.ListMyRoomsResponse = await backends.chat.ListMyRooms(
        request, metadata=connection.metadata, timeout=backends.timeout
    )
    return response


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
            metrics.frame_in("invalid")
            writer.send(p.encode(p.error_frame("invalid_argument", exc.message, exc.ref)))
            continue
        metrics.frame_in(command.type)
        await commands.submit(command)
