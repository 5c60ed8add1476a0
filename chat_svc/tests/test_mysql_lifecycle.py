"""chat_svc processes that are stopped on purpose: graceful shutdown, and auth_svc going away.

Each test gets its own processes (sharing the session's databases), so stopping them does not
disturb the session's `stack`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import grpc
import pytest

from chat_svc.tests.conftest import Stack
from chat_svc.tests.netclient import clients, read_to_the_end, read_until_caught_up, status_of
from parley.chat.v1 import chat_pb2 as pb
from tests.support.processes import ServiceProcess
from tests.support.stack import AUTH, CHAT

pytestmark = pytest.mark.mysql

Code = grpc.StatusCode


@pytest.fixture
def spare_chat(stack: Stack) -> Iterator[ServiceProcess]:
    """A second chat_svc process on the session's chat_db and auth_svc, for a test to stop."""
    process = stack.start(CHAT)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def doomed_auth(stack: Stack) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    """A second auth_svc (same database and keys as the session's) and a chat_svc that uses only it."""
    auth = stack.start(AUTH)
    chat: ServiceProcess | None = None
    try:
        chat = stack.start(CHAT, {"CHAT_AUTH_ADDRESS": auth.address})
        yield auth, chat
    finally:
        if chat is not None:
            chat.stop()
        auth.stop()


async def test_sigterm_ends_open_streams_unavailable_and_exits_zero(stack: Stack, spare_chat: ServiceProcess) -> None:
    """SIGTERM with an open StreamEvents: the stream ends UNAVAILABLE (shutting down) and the process exits 0."""
    async with clients(stack.auth.address, spare_chat.address) as net:
        alice = await net.register("sigterm")
        room = await net.room(alice, pb.ROOM_KIND_PUBLIC, [], "going down")
        call = net.chat.StreamEvents(
            pb.StreamEventsRequest(cursors=[pb.RoomCursor(room_id=room.id)]), metadata=alice.md
        )
        await read_until_caught_up(call)
        exit_code = asyncio.create_task(asyncio.to_thread(spare_chat.stop))
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            await read_to_the_end(call)
        assert ended.value.code() == Code.UNAVAILABLE
        assert "shutting down" in (ended.value.details() or "")
        assert await exit_code == 0
    assert any("stopped" in line for line in spare_chat.lines)


async def test_stopped_server_refuses_new_calls(stack: Stack, spare_chat: ServiceProcess) -> None:
    """After a graceful stop, calls to the old address fail UNAVAILABLE; the other replica still serves."""
    async with clients(stack.auth.address, spare_chat.address) as net:
        alice = await net.register("gone")
        await net.chat.ListMyRooms(pb.ListMyRoomsRequest(), metadata=alice.md)
        assert await asyncio.to_thread(spare_chat.stop) == 0
        code = await status_of(net.chat.ListMyRooms(pb.ListMyRoomsRequest(), metadata=alice.md, timeout=5))
        assert code == Code.UNAVAILABLE
    async with clients(stack.auth.address, stack.chat.address) as net:
        await net.chat.ListMyRooms(pb.ListMyRoomsRequest(), metadata=alice.md, timeout=5)


async def test_auth_down_makes_invite_unavailable(
    stack: Stack, doomed_auth: tuple[ServiceProcess, ServiceProcess]
) -> None:
    """With auth_svc stopped, InviteMember is UNAVAILABLE with a clear message; cached keys still verify tokens."""
    auth, chat = doomed_auth
    async with clients(auth.address, chat.address) as net:
        alice, bob = await net.users(2, "authdown")
        room = await net.room(alice, pb.ROOM_KIND_PRIVATE, [], "no directory")  # fetches and caches keys
        assert await asyncio.to_thread(auth.stop) == 0

        invite = net.chat.InviteMember(pb.InviteMemberRequest(room_id=room.id, user_id=bob.id), metadata=alice.md)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await invite
        assert refused.value.code() == Code.UNAVAILABLE
        assert "auth_svc" in (refused.value.details() or "")

        # Calls that need no user lookup keep working: tokens verify with the cached keys.
        await net.send(alice, room.id, "still-here", "still here")
        members = await net.chat.ListMembers(pb.ListMembersRequest(room_id=room.id), metadata=alice.md)
        assert [m.user_id for m in members.members] == [alice.id]
