"""Client-side helpers for the operator tests: ModerationService stubs with the stack's service tokens."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc

from chat_svc.tests.netclient import User
from common.tokens import auth_metadata
from parley.chat.v1 import chat_pb2 as pb, chat_pb2_grpc, moderation_pb2 as mod, moderation_pb2_grpc
from tests.support.stack import Stack

REASON = "spam reported by members"


@dataclass
class Operators:
    """ModerationService on an open channel, as the stack's "operator" (read and write) and "auditor" (read)."""

    stub: moderation_pb2_grpc.ModerationServiceAsyncStub
    operator: tuple[tuple[str, str], ...]
    auditor: tuple[tuple[str, str], ...]

    async def take_down(self, room_id: int, seq: int, reason: str = REASON) -> pb.Message:
        """TakeDownMessage as the operator; the tombstone."""
        request = mod.TakeDownMessageRequest(room_id=room_id, seq=seq, reason=reason)
        return (await self.stub.TakeDownMessage(request, metadata=self.operator)).message

    async def archive(self, room_id: int, reason: str = REASON) -> mod.RoomOverview:
        """ArchiveRoom as the operator."""
        request = mod.ArchiveRoomRequest(room_id=room_id, reason=reason)
        return (await self.stub.ArchiveRoom(request, metadata=self.operator)).room

    async def restore(self, room_id: int, reason: str = "appeal granted") -> mod.RoomOverview:
        """RestoreRoom as the operator."""
        request = mod.RestoreRoomRequest(room_id=room_id, reason=reason)
        return (await self.stub.RestoreRoom(request, metadata=self.operator)).room


@asynccontextmanager
async def operators(stack: Stack) -> AsyncIterator[Operators]:
    """Operators on a channel to the stack's chat_svc, for the duration of a test."""
    operator, auditor = stack.service_token("operator"), stack.service_token("auditor")
    async with grpc.aio.insecure_channel(stack.chat_address) as channel:
        yield Operators(
            moderation_pb2_grpc.ModerationServiceStub(channel), auth_metadata(operator), auth_metadata(auditor)
        )


async def send_many(
    chat: chat_pb2_grpc.ChatServiceAsyncStub, service_token: str, user: User, room_id: int, count: int, chunk: int = 500
) -> float:
    """Store `count` messages "m<n>" by one user through one SendMessages stream (group commit); seconds taken."""
    started = time.monotonic()

    async def requests() -> AsyncIterator[pb.SendMessagesRequest]:
        for first in range(0, count, chunk):
            yield pb.SendMessagesRequest(
                items=[
                    pb.SendItem(
                        ref=n,
                        access_token=user.token,
                        send=pb.SendMessageRequest(room_id=room_id, client_msg_id=f"bulk-{n}", body=f"m{n}"),
                    )
                    for n in range(first, min(first + chunk, count))
                ]
            )

    answered = 0
    call = chat.SendMessages(requests(), metadata=auth_metadata(service_token))
    async for response in call:
        for outcome in response.outcomes:
            assert outcome.error_code == 0, outcome.error_message
        answered += len(response.outcomes)
        if answered == count:
            call.cancel()
            break
    return time.monotonic() - started


async def next_events(call: grpc.aio.UnaryStreamCall[mod.TailEventsRequest, mod.TailEventsResponse]) -> list[pb.Event]:
    """The next TailEvents batch, failing instead of hanging."""
    response = await asyncio.wait_for(call.read(), 5.0)
    assert isinstance(response, mod.TailEventsResponse), "the tail ended"
    return list(response.events)
