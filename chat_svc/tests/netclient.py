"""Client-side helpers for the integration tests: real grpc.aio channels to running processes."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeAlias

import grpc
from sqlalchemy import Engine, create_engine

from common.tokens import auth_metadata
from parley.auth.v1 import auth_pb2, auth_pb2_grpc
from parley.chat.v1 import chat_pb2 as pb, chat_pb2_grpc

PASSWORD = "correct horse battery"
EventCall: TypeAlias = grpc.aio.UnaryStreamCall[pb.StreamEventsRequest, pb.StreamEventsResponse]
_names = itertools.count(1)


@dataclass
class User:
    """A registered account and its access token."""

    id: int
    username: str
    token: str

    @property
    def md(self) -> tuple[tuple[str, str], ...]:
        """Call metadata carrying the token."""
        return auth_metadata(self.token)


@dataclass
class Clients:
    """Stubs on open channels to one auth_svc and one chat_svc."""

    auth: auth_pb2_grpc.AuthServiceAsyncStub
    chat: chat_pb2_grpc.ChatServiceAsyncStub
    chat_channel: grpc.aio.Channel

    async def register(self, prefix: str = "user") -> User:
        """A new account with a unique username."""
        username = f"{prefix}{os.getpid() % 1000}n{next(_names)}"
        response = await self.auth.Register(auth_pb2.RegisterRequest(username=username, password=PASSWORD))
        return User(response.user.id, username, response.session.access_token)

    async def users(self, count: int, prefix: str = "user") -> list[User]:
        """`count` new accounts, registered concurrently."""
        return list(await asyncio.gather(*(self.register(prefix) for _ in range(count))))

    async def send(self, user: User, room_id: int, client_msg_id: str, body: str = "hi") -> pb.SendMessageResponse:
        """SendMessage as a user."""
        request = pb.SendMessageRequest(room_id=room_id, client_msg_id=client_msg_id, body=body)
        return await self.chat.SendMessage(request, metadata=user.md)

    async def room(self, owner: User, kind: int, members: list[User], name: str = "room") -> pb.Room:
        """A new room owned by owner with the given members (each accepts their invitation)."""
        request = pb.CreateRoomRequest(kind=kind, name=name, member_ids=[u.id for u in members])  # type: ignore[arg-type]
        room = (await self.chat.CreateRoom(request, metadata=owner.md)).room
        for member in members:
            accept = pb.AcceptInvitationRequest(room_id=room.id)
            room = (await self.chat.AcceptInvitation(accept, metadata=member.md)).room
        return room


@asynccontextmanager
async def clients(auth_address: str, chat_address: str) -> AsyncIterator[Clients]:
    """Open channels to both services for the duration of a test."""
    async with (
        grpc.aio.insecure_channel(auth_address) as auth_channel,
        grpc.aio.insecure_channel(chat_address) as chat_channel,
    ):
        yield Clients(
            auth_pb2_grpc.AuthServiceStub(auth_channel), chat_pb2_grpc.ChatServiceStub(chat_channel), chat_channel
        )


async def read(call: EventCall, wait_s: float = 5.0) -> pb.StreamEventsResponse:
    """The next StreamEvents response, failing instead of hanging."""
    response = await asyncio.wait_for(call.read(), wait_s)
    assert isinstance(response, pb.StreamEventsResponse), "the stream ended"
    return response


async def read_until_caught_up(call: EventCall) -> list[pb.Event]:
    """The replayed events up to the caught_up marker."""
    events: list[pb.Event] = []
    while True:
        response = await read(call)
        events.extend(response.events)
        if response.caught_up:
            return events


async def read_to_the_end(call: EventCall, wait_s: float = 10.0) -> None:
    """Read a stream until it ends; its status, if not OK, is raised as AioRpcError."""
    while isinstance(await asyncio.wait_for(call.read(), wait_s), pb.StreamEventsResponse):
        pass


async def status_of(awaitable: object) -> grpc.StatusCode:
    """The status code an RPC ends with (OK when it succeeds)."""
    try:
        await awaitable  # type: ignore[misc]
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def engine_for(url: str) -> Engine:
    """A plain SQLAlchemy engine on a test database, for checking what was stored."""
    return create_engine(url, pool_size=1, max_overflow=0)
