"""Two chat_svc replicas on one MySQL chat_db: the database, not a process, keeps the order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest

from chat_svc.tests.conftest import Stack
from chat_svc.tests.netclient import Clients, User, clients
from parley.chat.v1 import chat_pb2 as pb
from tests.support.processes import ServiceProcess
from tests.support.stack import CHAT

pytestmark = pytest.mark.mysql

Code = grpc.StatusCode


@pytest.fixture(scope="module")
def replica(stack: Stack) -> Iterator[ServiceProcess]:
    """A second chat_svc process on the session's chat_db and auth_svc."""
    process = stack.start(CHAT)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def both(stack: Stack, replica: ServiceProcess) -> AsyncIterator[tuple[Clients, Clients]]:
    """Clients of the session's chat_svc and of the replica."""
    async with (
        clients(stack.auth.address, stack.chat.address) as one,
        clients(stack.auth.address, replica.address) as two,
    ):
        yield one, two


def _stored(stack: Stack, room_id: int) -> tuple[int, int, int, int]:
    """(count, lowest seq, highest seq, distinct seqs) of the room's messages in chat_db."""
    seqs = [seq for seq, _ in stack.stored_messages(room_id)]
    return len(seqs), min(seqs, default=0), max(seqs, default=0), len(set(seqs))


async def test_sends_through_two_replicas_get_gap_free_seqs(stack: Stack, both: tuple[Clients, Clients]) -> None:
    """6 users x 30 sends split across two replicas: seqs are exactly 1..180."""
    one, two = both
    users = await one.users(6, "rep")
    room = await one.room(users[0], pb.ROOM_KIND_PUBLIC, users[1:], "replicas")
    sends = [
        (one if i % 2 else two).send(user, room.id, f"r{n}-{i}") for i in range(30) for n, user in enumerate(users)
    ]
    responses = await asyncio.gather(*sends)
    assert sorted(r.message.seq for r in responses) == list(range(1, 181))
    assert _stored(stack, room.id) == (180, 1, 180, 180)


async def test_retries_through_two_replicas_store_one_message(stack: Stack, both: tuple[Clients, Clients]) -> None:
    """The same client_msg_id sent to both replicas at once is stored once; all answers agree."""
    one, two = both
    alice = await one.register("reptry")
    room = await one.room(alice, pb.ROOM_KIND_PRIVATE, [], "retry")
    for attempt in range(5):
        key = f"twice-{attempt}"
        responses = await asyncio.gather(*((one if i % 2 else two).send(alice, room.id, key) for i in range(8)))
        assert len({r.message.seq for r in responses}) == 1
        assert [r.duplicate for r in responses].count(False) == 1
    assert _stored(stack, room.id) == (5, 1, 5, 5)


async def test_joins_through_two_replicas_all_succeed(both: tuple[Clients, Clients]) -> None:
    """Users joining one channel through two replicas at once all get in; member_count is exact."""
    one, two = both
    owner, *joiners = await one.users(13, "repjoin")
    room = await one.room(owner, pb.ROOM_KIND_PUBLIC, [], "join rush")
    requests = [
        (one if i % 2 else two).chat.JoinRoom(pb.JoinRoomRequest(room_id=room.id), metadata=user.md)
        for i, user in enumerate(joiners)
    ]
    await asyncio.gather(*requests)
    fresh = await one.chat.GetRoom(pb.GetRoomRequest(room_id=room.id), metadata=owner.md)
    assert fresh.room.member_count == 13


async def test_joins_and_sends_through_two_replicas_all_succeed(stack: Stack, both: tuple[Clients, Clients]) -> None:
    """Joins on one replica while members send on the other: every call succeeds, seqs stay gap-free."""
    one, two = both
    owner, *joiners = await one.users(11, "repmix")
    room = await one.room(owner, pb.ROOM_KIND_PUBLIC, [], "busy")
    joins = [one.chat.JoinRoom(pb.JoinRoomRequest(room_id=room.id), metadata=u.md) for u in joiners]
    sends = [two.send(owner, room.id, f"busy-{i}") for i in range(30)]
    await asyncio.gather(*joins, *sends)
    assert _stored(stack, room.id) == (30, 1, 30, 30)
    fresh = await one.chat.GetRoom(pb.GetRoomRequest(room_id=room.id), metadata=owner.md)
    assert fresh.room.member_count == 11


async def test_direct_room_opened_through_both_replicas_is_one_room(both: tuple[Clients, Clients]) -> None:
    """Both users opening their DM at once through different replicas get the same room, created once."""
    one, two = both
    users: list[User] = await one.users(2, "repdm")
    alice, bob = users
    calls = [
        one.chat.OpenDirectRoom(pb.OpenDirectRoomRequest(user_id=bob.id), metadata=alice.md),
        two.chat.OpenDirectRoom(pb.OpenDirectRoomRequest(user_id=alice.id), metadata=bob.md),
        two.chat.OpenDirectRoom(pb.OpenDirectRoomRequest(user_id=bob.id), metadata=alice.md),
        one.chat.OpenDirectRoom(pb.OpenDirectRoomRequest(user_id=alice.id), metadata=bob.md),
    ]
    responses = await asyncio.gather(*calls)
    assert len({r.room.id for r in responses}) == 1
    assert [r.created for r in responses].count(True) == 1


async def test_same_user_joining_through_both_replicas_at_once(both: tuple[Clients, Clients]) -> None:
    """A double join (two gateways, two replicas) succeeds both times and counts the member once."""
    one, two = both
    owner, joiner = await one.users(2, "repdouble")
    room = await one.room(owner, pb.ROOM_KIND_PUBLIC, [], "double")
    request = pb.JoinRoomRequest(room_id=room.id)
    await asyncio.gather(*((one if i % 2 else two).chat.JoinRoom(request, metadata=joiner.md) for i in range(6)))
    fresh = await one.chat.GetRoom(pb.GetRoomRequest(room_id=room.id), metadata=owner.md)
    assert fresh.room.member_count == 2


async def test_same_user_leaving_through_both_replicas_at_once(both: tuple[Clients, Clients]) -> None:
    """A double leave through two replicas succeeds both times and counts the member out once."""
    one, two = both
    owner, leaver = await one.users(2, "repleave")
    room = await one.room(owner, pb.ROOM_KIND_PUBLIC, [leaver], "exit")
    request = pb.LeaveRoomRequest(room_id=room.id)
    await asyncio.gather(*((one if i % 2 else two).chat.LeaveRoom(request, metadata=leaver.md) for i in range(6)))
    fresh = await one.chat.GetRoom(pb.GetRoomRequest(room_id=room.id), metadata=owner.md)
    assert fresh.room.member_count == 1
