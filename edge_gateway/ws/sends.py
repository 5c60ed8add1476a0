"""Every socket's sends over one SendMessages stream to chat_svc, several items per stream message.

A unary SendMessage per chat message costs a whole gRPC call on both sides; on one long-lived stream
a message costs a share of a stream message. Each item carries its user's own access token, so
chat_svc still authenticates every send. Items are written in the order they were made, and
chat_svc queues them in that order, so a user's messages keep their order.

If the stream breaks, the items still waiting for an outcome are written again on the next stream:
sends are idempotent by client_msg_id, so a send that had been stored comes back as its original.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging

import grpc

from common import tracing
from common.tokens import auth_metadata
from edge_gateway.backends import Backends
from edge_gateway.errors import from_status
from parley.chat.v1 import chat_pb2 as pb

log = logging.getLogger(__name__)

WRITE_BATCH = 500


class SendPipe:
    """Sends of this gateway's sockets, multiplexed on one stream with reconnects."""

    def __init__(self, backends: Backends) -> None:
        self._backends = backends
        self._refs = itertools.count(1)
        self._pending: dict[int, tuple[pb.SendItem, asyncio.Future[pb.SendOutcome]]] = {}
        self._outbox: list[pb.SendItem] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.reconnects = 0

    async def send(self, token: str, request: pb.SendMessageRequest, wait_s: float) -> pb.SendMessageResponse:
        """Store a message as the token's user; ApiError when refused or not answered in time."""
        ref = next(self._refs)
        item = pb.SendItem(ref=ref, access_token=token, send=request, traceparent=tracing.traceparent())
        future: asyncio.Future[pb.SendOutcome] = asyncio.get_running_loop().create_future()
        self._pending[ref] = (item, future)
        self._outbox.append(item)
        self._wake.set()
        try:
            outcome = await asyncio.wait_for(future, wait_s)
        except TimeoutError:
            raise from_status(grpc.StatusCode.DEADLINE_EXCEEDED, "") from None
        finally:
            self._pending.pop(ref, None)
        if outcome.error_code:
            raise from_status(outcome.error_code, outcome.error_message, outcome.error_reason)
        return outcome.sent

    async def _run(self) -> None:
        delay = 0.2
        while True:
            writer: asyncio.Task[None] | None = None
            try:
                token = await self._backends.service_token.get()
                # No request iterator: items are written with call.write() as they come.
                call = self._backends.chat.SendMessages(metadata=auth_metadata(token))  # type: ignore[call-arg]
                # What a broken stream left unanswered goes first, in the order it was made.
                unanswered = [item for ref, (item, future) in sorted(self._pending.items()) if not future.done()]
                written = {item.ref for item in unanswered}
                self._outbox = unanswered + [item for item in self._outbox if item.ref not in written]
                writer = asyncio.create_task(self._write(call))
                async for response in call:
                    delay = 0.2
                    for outcome in response.outcomes:
                        entry = self._pending.get(outcome.ref)
                        if entry is not None and not entry[1].done():
                            entry[1].set_result(outcome)
                raise ConnectionError("the send stream ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reconnect with backoff
                detail = exc.details() if isinstance(exc, grpc.aio.AioRpcError) else str(exc)
                log.warning("send stream to chat_svc broke (%s); reconnecting", detail)
                self.reconnects += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            finally:
                if writer is not None:
                    writer.cancel()

    async def _write(self, call: grpc.aio.StreamStreamCall) -> None:  # type: ignore[type-arg]
        while True:
            if not self._outbox:
                self._wake.clear()
                await self._wake.wait()
            items, self._outbox = self._outbox[:WRITE_BATCH], self._outbox[WRITE_BATCH:]
            await call.write(pb.SendMessagesRequest(items=items))

    async def start(self) -> None:
        """Open the stream (and keep it open)."""
        self._task = asyncio.create_task(self._run(), name="send-pipe")

    async def stop(self) -> None:
        """Close the stream; sends waiting for an outcome time out."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
