"""What a signed-in socket asks for: one handler per client frame type, each answering with its own ack or an error.

Sends are pipelined: the next frame is read while earlier sends are being stored (they are stored in
frame order, by edge_gateway/ws/sends.py; acks come as they complete), at most MAX_SENDS_IN_FLIGHT
at once. Every other frame is answered before the next one is read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from common import tracing
from edge_gateway.backends import Backends
from edge_gateway.deps import verify_user_token
from edge_gateway.errors import ApiError, from_rpc_error
from edge_gateway.rates import RateLimited, RateLimits
from edge_gateway.ws import frames as f, protocol as p
from edge_gateway.ws.connection import Connection
from edge_gateway.ws.sends import SendPipe
from parley.chat.v1 import chat_pb2 as pb

log = logging.getLogger(__name__)

MAX_SENDS_IN_FLIGHT = 64
Reply = dict[str, Any] | None


class Commands:
    """The command side of one signed-in socket."""

    __slots__ = ("_backends", "_connection", "_expiry", "_in_flight", "_rates", "_send_slots", "_sends")

    def __init__(self, backends: Backends, connection: Connection, sends: SendPipe, rates: RateLimits) -> None:
        self._backends = backends
        self._connection = connection
        self._sends = sends
        self._rates = rates
        self._expiry: asyncio.TimerHandle | None = None
        self._schedule_expiry()
        # Made on the first send: most sockets of a big deployment only listen.
        self._send_slots: asyncio.Semaphore | None = None
        self._in_flight: set[asyncio.Task[None]] | None = None

    async def submit(self, frame: f.ClientFrame) -> None:
        """Act on a frame: sends in the background (bounded), everything else before the next frame.

        Each frame is counted against its rate limit first, in frame order, so that sends keep their order.
        """
        try:
            await self._rates.hit(FRAME_FAMILIES[type(frame)], self._connection.user_id)
        except RateLimited as error:
            self._connection.writer.send(
                p.encode(p.error_frame(error.name, error.message, frame.ref, error.retry_after_ms))
            )
            return
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
        if not task.cancelled() and task.exception() is not None:  # handle() answers everything: a bug if here
            log.error("a send frame's task failed", exc_info=task.exception())

    def _schedule_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        delay = max(0.0, self._connection.expires_at - time.time())
        self._expiry = asyncio.get_running_loop().call_later(
            delay,
            self._connection.writer.close,
            p.CLOSE_TOKEN_EXPIRED,
            "access token expired; refresh it and reconnect",
        )

    def stop(self) -> None:
        """Forget the token's expiry (the socket is closing anyway)."""
        if self._expiry is not None:
            self._expiry.cancel()

    async def handle(self, frame: f.ClientFrame) -> None:
        """Act on one client frame; answer with its ack or an error frame.

        When tracing, each frame is a span of its own (the instrumentations do not see WebSocket frames),
        in the trace its `traceparent` names if it carries one.
        """
        with tracing.frame_span(f"ws {frame.type}", frame.traceparent, {"parley.frame.type": frame.type}):
            reply = await self._reply(frame)
        if reply is not None:
            self._connection.writer.send(p.encode(reply))

    async def _reply(self, frame: f.ClientFrame) -> Reply:
        reply: Reply
        try:
            reply = await _HANDLERS[type(frame)](self, frame)
        except grpc.aio.AioRpcError as exc:
            error = from_rpc_error(exc)
            reply = p.error_frame(error.name, error.message, frame.ref)
        except ApiError as error:
            reply = p.error_frame(error.name, error.message, frame.ref)
        except p.ProtocolError as error:
            reply = p.error_frame("invalid_argument", error.message, frame.ref)
        except Exception:
            # A bug, not the client's mistake: logged with its traceback, answered, and the socket stays
            # (one frame's failure never ends the socket with 1011).
            log.exception("a %s frame failed", frame.type)
            reply = p.error_frame("internal", "the gateway failed on this frame; try it again", frame.ref)
        return reply

    # -- one handler per frame type ---------------------------------------------------------------

    async def _send(self, frame: f.SendFrame) -> Reply:
        request = pb.SendMessageRequest(
            room_id=frame.room_id,
            client_msg_id=frame.client_msg_id,
            body=frame.body,
            thread_root_seq=frame.thread_root_seq,
            also_in_room=frame.also_in_room,
        )
        if frame.file_ids:  # -- files: set only when present, so that the common send costs no more
            request.file_ids.extend(frame.file_ids)
        sent = await self._sends.send(self._connection.token, request, self._backends.timeout)
        return p.send_ack(frame.ref, sent.message, sent.duplicate)

    async def _typing(self, frame: f.TypingFrame) -> Reply:
        typing = await self._backends.chat.SendTyping(
            pb.SendTypingRequest(room_id=frame.room_id),
            metadata=self._connection.metadata,
            timeout=self._backends.timeout,
        )
        return None if frame.ref is None else p.typing_ack(frame.ref, typing)

    async def _read(self, frame: f.ReadFrame) -> Reply:
        read = await self._backends.chat.MarkRead(
            pb.MarkReadRequest(room_id=frame.room_id, seq=frame.seq),
            metadata=self._connection.metadata,
            timeout=self._backends.timeout,
        )
        return p.read_ack(frame.ref, frame.room_id, read)

    async def _ping(self, frame: f.PingFrame) -> Reply:
        return p.pong(frame.ref)

    async def _reauth(self, frame: f.ReauthFrame) -> Reply:
        principal = await verify_user_token(self._backends, frame.token)
        connection = self._connection
        if principal.user_id != connection.user_id:
            raise ApiError(grpc.StatusCode.PERMISSION_DENIED, "reauth must be for the same user")
        connection.token, connection.expires_at = frame.token, principal.expires_at
        connection.session_id = principal.session_id
        self._schedule_expiry()
        return p.reauth_ack(frame.ref, principal.expires_at)

    async def _react(self, frame: f.ReactFrame) -> Reply:
        reacted = await self._backends.chat.React(
            pb.ReactRequest(room_id=frame.room_id, seq=frame.seq, emoji=frame.emoji, add=frame.add),
            metadata=self._connection.metadata,
            timeout=self._backends.timeout,
        )
        return p.react_ack(frame.ref, frame.room_id, reacted)

    async def _auth(self, frame: f.AuthFrame) -> Reply:
        raise p.ProtocolError("already signed in; use a reauth frame to swap tokens", frame.ref)


# Each frame type's rate limit family (edge_gateway/rates.py).
FRAME_FAMILIES: dict[type[Any], str] = {
    f.SendFrame: "send",
    f.TypingFrame: "typing",
    f.ReadFrame: "read",
    f.PingFrame: "ping",
    f.ReauthFrame: "reauth",
    f.AuthFrame: "ping",
    f.ReactFrame: "react",
}

_HANDLERS: dict[type[Any], Callable[[Commands, Any], Awaitable[Reply]]] = {
    f.SendFrame: Commands._send,
    f.TypingFrame: Commands._typing,
    f.ReadFrame: Commands._read,
    f.PingFrame: Commands._ping,
    f.ReauthFrame: Commands._reauth,
    f.AuthFrame: Commands._auth,
    f.ReactFrame: Commands._react,
}
