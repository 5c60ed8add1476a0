"""The WebSocket endpoint: sign in with the first frame, catch up, then live events and commands."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import grpc
from fastapi import APIRouter, WebSocket

from edge_gateway.backends import Backends
from edge_gateway.convert import my_room_json
from edge_gateway.deps import verify_user_token
from edge_gateway.errors import ApiError, from_rpc_error
from edge_gateway.ws import frames as f
from edge_gateway.ws import protocol as p
from edge_gateway.ws.connection import Connection
from edge_gateway.ws.fanout import Fanout
from edge_gateway.ws.sends import SendPipe
from edge_gateway.ws.wire import wire_of
from parley.chat.v1 import chat_pb2 as pb

log = logging.getLogger(__name__)

router = APIRouter(tags=["websocket"])

MAX_SENDS_IN_FLIGHT = 64


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


async def _refuse(websocket: WebSocket, code: int, error: str, message: str) -> None:
    with contextlib.suppress(Exception):
        await websocket.send_text(p.encode(p.error_frame(error, message)))
        await websocket.close(code, message[:120])


async def catch_up(backends: Backends, connection: Connection, cursors: list[pb.RoomCursor]) -> None:
    """Send what the connection missed after its cursors (from chat_svc's database), then go live."""
    try:
        if cursors:
            call = backends.chat.StreamEvents(pb.StreamEventsRequest(cursors=cursors), metadata=connection.metadata)
            try:
                async for response in call:
                    if response.caught_up:
                        break
                    for event in response.events:
                        frame = p.event_frame(event)
                        if frame is None:
                            continue
                        seq, change = p.event_position(event)
                        connection.deliver(event.room_id, seq, change, p.encode(frame), replay=True)
            finally:
                call.cancel()
        connection.send(p.encode({"type": "caught_up"}))
    except grpc.aio.AioRpcError as exc:
        error = from_rpc_error(exc)
        connection.send(p.encode(p.error_frame(error.name, f"catching up failed: {error.message}")))
        connection.close(p.CLOSE_TRY_AGAIN, "could not catch up; reconnect and resume")
    finally:
        connection.release()


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


class _Session:
    """The command side of one signed-in socket."""

    __slots__ = ("_expiry", "_in_flight", "_send_slots", "_sends", "backends", "connection")

    def __init__(self, backends: Backends, connection: Connection, sends: SendPipe) -> None:
        self.backends = backends
        self.connection = connection
        self._sends = sends
        self._expiry: asyncio.TimerHandle | None = None
        self._schedule_expiry()
        # Sends are pipelined: the next frame is read while earlier sends are being stored (they
        # are stored in frame order; acks come as they complete). At most this many at once.
        # Made on the first send: most sockets of a big deployment only listen.
        self._send_slots: asyncio.Semaphore | None = None
        self._in_flight: set[asyncio.Task[None]] | None = None

    async def submit(self, frame: Any) -> None:
        """Act on a frame: sends in the background (bounded), everything else before the next frame."""
        if not isinstance(frame, f.SendFrame):
            await self.handle(frame)
            return
        if self._send_slots is None or self._in_flight is None:
            self._send_slots, self._in_flight = asyncio.Semaphore(MAX_SENDS_IN_FLIGHT), set()
        await self._send_slots.acquire()
        task = asyncio.create_task(self.handle(frame))
        self._in_flight.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        assert self._in_flight is not None and self._send_slots is not None
        self._in_flight.discard(task)
        self._send_slots.release()

    def _schedule_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        delay = max(0.0, self.connection.expires_at - time.time())
        self._expiry = asyncio.get_running_loop().call_later(
            delay, self.connection.close, p.CLOSE_TOKEN_EXPIRED, "access token expired; refresh it and reconnect"
        )

    def stop(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()

    def _reply(self, frame: dict[str, Any]) -> None:
        self.connection.send(p.encode(frame))

    async def handle(self, frame: Any) -> None:
        """Act on one client frame; answer with an ack or an error frame."""
        ref = frame.ref
        md, timeout, chat = self.connection.metadata, self.backends.timeout, self.backends.chat
        try:
            if isinstance(frame, f.SendFrame):
                request = pb.SendMessageRequest(
                    room_id=frame.room_id, client_msg_id=frame.client_msg_id, body=frame.body
                )
                sent = await self._sends.send(self.connection.token, request, timeout)
                self._reply(p.send_ack(ref, sent.message, sent.duplicate))
            elif isinstance(frame, f.TypingFrame):
                typing = await chat.SendTyping(
                    pb.SendTypingRequest(room_id=frame.room_id), metadata=md, timeout=timeout
                )
                if ref is not None:
                    self._reply(p.typing_ack(ref, typing))
            elif isinstance(frame, f.ReadFrame):
                request_read = pb.MarkReadRequest(room_id=frame.room_id, seq=frame.seq)
                read = await chat.MarkRead(request_read, metadata=md, timeout=timeout)
                self._reply(p.read_ack(ref, frame.room_id, read))
            elif isinstance(frame, f.PingFrame):
                self._reply(p.pong(ref))
            elif isinstance(frame, f.ReauthFrame):
                principal = await verify_user_token(self.backends, frame.token)
                if principal.user_id != self.connection.user_id:
                    raise ApiError(grpc.StatusCode.PERMISSION_DENIED, "reauth must be for the same user")
                self.connection.token, self.connection.expires_at = frame.token, principal.expires_at
                self.connection.session_id = principal.session_id
                self._schedule_expiry()
                self._reply(p.reauth_ack(ref, principal.expires_at))
            elif isinstance(frame, f.AuthFrame):
                raise p.ProtocolError("already signed in; use a reauth frame to swap tokens", ref)
        except grpc.aio.AioRpcError as exc:
            error = from_rpc_error(exc)
            self._reply(p.error_frame(error.name, error.message, ref))
        except ApiError as error:
            self._reply(p.error_frame(error.name, error.message, ref))
        except p.ProtocolError as error:
            self._reply(p.error_frame("invalid_argument", error.message, ref))


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    """Chat in real time: see docs/protocol.md for the frames and close codes."""
    backends: Backends = websocket.app.state.backends
    fanout: Fanout = websocket.app.state.fanout
    settings = backends.settings
    await websocket.accept()

    # 1. The first frame signs in (the token never travels in the URL, so it is never logged).
    try:
        data = await _receive(websocket, settings.ws_auth_timeout_seconds)
    except TimeoutError:
        await _refuse(websocket, p.CLOSE_UNAUTHENTICATED, "unauthenticated", "send an auth frame first")
        return
    if data is None:
        return
    try:
        frame = p.parse(data, settings.ws_max_frame_bytes)
        if not isinstance(frame, f.AuthFrame):
            raise p.ProtocolError('the first frame must be {"type": "auth", "token": ...}')
        principal = await verify_user_token(backends, frame.token)
    except p.ProtocolError as exc:
        await _refuse(websocket, p.CLOSE_UNAUTHENTICATED, "unauthenticated", exc.message)
        return
    except ApiError as exc:
        expired = "expired" in exc.message
        await _refuse(websocket, p.CLOSE_TOKEN_EXPIRED if expired else p.CLOSE_UNAUTHENTICATED, exc.name, exc.message)
        return

    connection = Connection(
        websocket,
        principal.user_id,
        frame.token,
        principal.expires_at,
        settings.ws_send_queue_frames,
        principal.session_id,
        wire_of(websocket.scope),
        settings.ws_send_buffer_bytes,
    )
    writer = connection.start()
    session = _Session(backends, connection, websocket.app.state.sends)
    try:
        # 2. The user's rooms, and where the client is in each of them.
        try:
            mine = await backends.chat.ListMyRooms(
                pb.ListMyRoomsRequest(), metadata=connection.metadata, timeout=backends.timeout
            )
        except grpc.aio.AioRpcError as exc:
            error = from_rpc_error(exc)
            connection.send(p.encode(p.error_frame(error.name, error.message)))
            connection.close(p.CLOSE_TRY_AGAIN, "could not load your rooms; reconnect")
            return
        wanted = {c.room_id: c for c in frame.cursors}
        cursors = []
        for entry in mine.rooms:
            room = entry.room
            cursor = wanted.pop(room.id, None)
            connection.last_seq[room.id] = cursor.after_seq if cursor else room.last_seq
            connection.last_change[room.id] = cursor.after_change if cursor else room.last_change
            if cursor is not None:
                cursors.append(
                    pb.RoomCursor(room_id=room.id, after_seq=cursor.after_seq, after_change=cursor.after_change)
                )
        connection.send(
            p.encode(
                {
                    "type": "ready",
                    "protocol": p.PROTOCOL_VERSION,
                    "user_id": principal.user_id,
                    "username": principal.username,
                    "session_expires_at": principal.expires_at,
                    "heartbeat_seconds": settings.ws_heartbeat_seconds,
                    "idle_timeout_seconds": settings.ws_idle_timeout_seconds,
                    "rooms": [my_room_json(entry) for entry in mine.rooms],
                }
            )
        )
        for room_id in sorted(wanted):
            connection.send(
                p.encode(p.error_frame("permission_denied", f"not a member of room {room_id}; cursor ignored"))
            )
        # 3. Live events are held while the missed ones are replayed, then released without duplicates.
        connection.hold()
        fanout.register(connection, set(connection.last_seq))
        await catch_up(backends, connection, cursors)

        # 4. Commands until the client leaves, goes idle, or the connection is closed.
        while connection.close_code is None:
            try:
                data = await _receive(websocket, settings.ws_idle_timeout_seconds)
            except TimeoutError:
                connection.close(p.CLOSE_IDLE, "no frames for too long; send ping frames to stay connected")
                break
            if data is None:
                break
            try:
                command = p.parse(data, settings.ws_max_frame_bytes)
            except p.ProtocolError as exc:
                connection.send(p.encode(p.error_frame("invalid_argument", exc.message, exc.ref)))
                continue
            await session.submit(command)
    except Exception:
        log.exception("websocket of user %s failed", connection.user_id)
        connection.close(p.CLOSE_INTERNAL, "internal error; reconnect and resume")
    finally:
        session.stop()
        fanout.unregister(connection)
        connection.close(1000, "bye")
        if writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer, 5)
        await connection.finished()
