"""chat_svc as a real process on MySQL, with a real auth_svc: the whole path over gRPC."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from sqlalchemy import text

from chat_svc.tests.conftest import Stack
from chat_svc.tests.netclient import Clients, User, clients, engine_for, read, read_until_caught_up, status_of
from parley.chat.v1 import chat_pb2 as pb
from tests.support.processes import grpcurl

pytestmark = pytest.mark.mysql

Code = grpc.StatusCode
SERVICE_NAME = "parley.chat.v1.ChatService"


@pytest.fixture
async def net(stack: Stack) -> AsyncIterator[Clients]:
    """Channels to the session's auth_svc and chat_svc processes."""
    async with clients(stack.auth.address, stack.chat.address) as opened:
        yield opened


def db_row(stack: Stack, sql: str, **params: Any) -> tuple[Any, ...]:
    """The one row a query returns on the chat process's MySQL database."""
    engine = engine_for(stack.chat_db_url)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(text(sql), params).one())
    finally:
        engine.dispose()


def message_count(stack: Stack, room_id: int | None = None) -> int:
    """Stored message rows, in one room or in all."""
    if room_id is None:
        return int(db_row(stack, "SELECT COUNT(*) FROM messages")[0])
    return int(db_row(stack, "SELECT COUNT(*) FROM messages WHERE room_id = :r", r=room_id)[0])


# -- a conversation --------------------------------------------------------------------------------------


@pytest.fixture
async def pair(net: Clients) -> tuple[User, User, pb.Room]:
    """Two registered users and a private room the first created, inviting the second."""
    alice, bob = await net.users(2, "pair")
    room = await net.room(alice, pb.ROOM_KIND_PRIVATE, [bob], "pair room")
    return alice, bob, room


async def test_two_users_exchange_messages_in_a_private_room(net: Clients, pair: tuple[User, User, pb.Room]) -> None:
    """Both members send; each sees both messages in order with the right senders."""
    alice, bob, room = pair
    assert room.member_count == 2
    await net.send(alice, room.id, "a-1", "hello bob")
    await net.send(bob, room.id, "b-1", "hello alice")
    for reader in (alice, bob):
        page = await net.chat.ListMessages(pb.ListMessagesRequest(room_id=room.id), metadata=reader.md)
        assert [(m.seq, m.sender_id, m.body) for m in page.messages] == [
            (1, alice.id, "hello bob"),
            (2, bob.id, "hello alice"),
        ]


async def test_invitee_sees_the_room_with_unread_count(net: Clients, pair: tuple[User, User, pb.Room]) -> None:
    """The invited user finds the private room in ListMyRooms, with the other's message unread."""
    alice, bob, room = pair
    await net.send(alice, room.id, "a-1")
    rooms = (await net.chat.ListMyRooms(pb.ListMyRoomsRequest(), metadata=bob.md)).rooms
    [mine] = [r for r in rooms if r.room.id == room.id]
    assert (mine.role, mine.unread_count) == (pb.MEMBER_ROLE_MEMBER, 1)


@pytest.mark.parametrize("what", ["send", "list", "stream"])
async def test_third_user_is_refused(stack: Stack, net: Clients, pair: tuple[User, User, pb.Room], what: str) -> None:
    """A registered user outside the private room gets PERMISSION_DENIED on send, list and stream."""
    alice, _, room = pair
    await net.send(alice, room.id, "a-1")
    carol = await net.register("carol")
    if what == "send":
        code = await status_of(net.send(carol, room.id, "c-1"))
    elif what == "list":
        code = await status_of(net.chat.ListMessages(pb.ListMessagesRequest(room_id=room.id), metadata=carol.md))
    else:
        request = pb.StreamEventsRequest(cursors=[pb.RoomCursor(room_id=room.id)])
        code = await status_of(net.chat.StreamEvents(request, metadata=carol.md).read())
    assert code == Code.PERMISSION_DENIED
    assert message_count(stack, room.id) == 1


async def test_invite_checks_the_user_with_auth_svc(net: Clients, pair: tuple[User, User, pb.Room]) -> None:
    """Inviting an id auth_svc does not know is NOT_FOUND; a real user is invited."""
    alice, _, room = pair
    carol = await net.register("carol")
    missing = pb.InviteMemberRequest(room_id=room.id, user_id=carol.id + 10_000)
    assert await status_of(net.chat.InviteMember(missing, metadata=alice.md)) == Code.NOT_FOUND
    sent = await net.chat.InviteMember(pb.InviteMemberRequest(room_id=room.id, user_id=carol.id), metadata=alice.md)
    assert (sent.invitation.user_id, sent.invitation.inviter_id) == (carol.id, alice.id)


async def test_consent_on_mysql(net: Clients, pair: tuple[User, User, pb.Room]) -> None:
    """On MySQL: an invitation waits for its answer, a decline sticks, a block refuses the conversation."""
    alice, _, room = pair
    carol = await net.register("carol")
    invite = pb.InviteMemberRequest(room_id=room.id, user_id=carol.id)
    await net.chat.InviteMember(invite, metadata=alice.md)
    pending = await net.chat.ListInvitations(pb.ListInvitationsRequest(), metadata=carol.md)
    assert [i.room.id for i in pending.invitations] == [room.id]
    await net.chat.DeclineInvitation(pb.DeclineInvitationRequest(room_id=room.id), metadata=carol.md)
    assert await status_of(net.chat.InviteMember(invite, metadata=alice.md)) == Code.FAILED_PRECONDITION
    await net.chat.BlockUser(pb.BlockUserRequest(user_id=alice.id), metadata=carol.md)
    direct = pb.OpenDirectRoomRequest(user_id=carol.id)
    assert await status_of(net.chat.OpenDirectRoom(direct, metadata=alice.md)) == Code.PERMISSION_DENIED
    mine = await net.chat.ListMyRooms(pb.ListMyRoomsRequest(limit=1), metadata=alice.md)
    assert (len(mine.rooms), mine.has_more) == (1, False)


async def test_create_room_with_too_many_members_is_invalid(net: Clients) -> None:
    """CreateRoom naming 600 members is INVALID_ARGUMENT, not reported as an auth_svc outage."""
    alice = await net.register("crowd")
    request = pb.CreateRoomRequest(kind=pb.ROOM_KIND_PUBLIC, name="crowd", member_ids=range(1, 602))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await net.chat.CreateRoom(request, metadata=alice.md)
    assert refused.value.code() == Code.INVALID_ARGUMENT


# -- ordering and idempotency under concurrency --------------------------------------------------------------


async def test_concurrent_senders_get_gap_free_seqs(stack: Stack, net: Clients) -> None:
    """8 users x 25 concurrent sends: seqs are exactly 1..200 and each client_msg_id is stored once."""
    users = await net.users(8, "load")
    room = await net.room(users[0], pb.ROOM_KIND_PUBLIC, users[1:], "load")
    sends = [net.send(user, room.id, f"u{n}-m{i}", f"message {i}") for i in range(25) for n, user in enumerate(users)]
    responses = await asyncio.gather(*sends)
    assert sorted(r.message.seq for r in responses) == list(range(1, 201))
    assert not any(r.duplicate for r in responses)
    keys = {(r.message.sender_id, r.message.client_msg_id) for r in responses}
    assert len(keys) == 200
    count, low, high, distinct, keys_stored = db_row(
        stack,
        "SELECT COUNT(*), MIN(seq), MAX(seq), COUNT(DISTINCT seq), COUNT(DISTINCT sender_id, client_msg_id)"
        " FROM messages WHERE room_id = :r",
        r=room.id,
    )
    assert (count, low, high, distinct, keys_stored) == (200, 1, 200, 200, 200)
    assert db_row(stack, "SELECT last_seq FROM rooms WHERE id = :r", r=room.id) == (200,)


async def test_each_sender_sees_its_messages_in_send_order(net: Clients) -> None:
    """A sender awaiting each send in turn gets increasing seqs even with other senders interleaving."""
    users = await net.users(3, "order")
    room = await net.room(users[0], pb.ROOM_KIND_PUBLIC, users[1:], "order")

    async def sequential(user: User) -> list[int]:
        return [(await net.send(user, room.id, f"s{i}")).message.seq for i in range(10)]

    for seqs in await asyncio.gather(*(sequential(u) for u in users)):
        assert seqs == sorted(seqs)


async def test_concurrent_retries_store_one_message(stack: Stack, net: Clients) -> None:
    """The same client_msg_id sent 10 times at once stores one message; every answer has its seq."""
    alice, bob = await net.users(2, "retry")
    room = await net.room(alice, pb.ROOM_KIND_PRIVATE, [bob], "retry")
    await net.send(bob, room.id, "before")
    responses = await asyncio.gather(*(net.send(alice, room.id, "same-key", "only once") for _ in range(10)))
    assert {r.message.seq for r in responses} == {2}
    assert sorted(r.duplicate for r in responses) == [False] + [True] * 9
    assert message_count(stack, room.id) == 2
    assert db_row(stack, "SELECT last_seq FROM rooms WHERE id = :r", r=room.id) == (2,)


# -- the event stream -----------------------------------------------------------------------------------------


async def test_stream_resumes_from_cursor(net: Clients) -> None:
    """B reconnects after 30 missed messages: replay is exactly those, in order, then caught_up, then live."""
    alice, bob = await net.users(2, "resume")
    room = await net.room(alice, pb.ROOM_KIND_PRIVATE, [bob], "resume")
    first = net.chat.StreamEvents(pb.StreamEventsRequest(), metadata=bob.md)
    await read_until_caught_up(first)
    sent = await net.send(alice, room.id, "seen live")
    live = await read(first)
    [event] = [e for e in live.events if e.HasField("message_created")]
    last_seen = event.message_created.seq
    assert last_seen == sent.message.seq
    first.cancel()

    for i in range(30):
        await net.send(alice, room.id, f"missed-{i}", f"missed {i}")

    cursor = pb.RoomCursor(room_id=room.id, after_seq=last_seen)
    second = net.chat.StreamEvents(pb.StreamEventsRequest(cursors=[cursor]), metadata=bob.md)
    replayed = [e.message_created for e in await read_until_caught_up(second) if e.HasField("message_created")]
    assert [m.seq for m in replayed] == list(range(last_seen + 1, last_seen + 31))
    assert [m.body for m in replayed] == [f"missed {i}" for i in range(30)]
    after = await net.send(alice, room.id, "live again")
    response = await read(second)
    second.cancel()
    assert [e.message_created.seq for e in response.events if e.HasField("message_created")] == [after.message.seq]
    assert after.message.seq == last_seen + 31


async def test_stream_sees_sends_during_replay_exactly_once(net: Clients) -> None:
    """Messages sent while a stream replays arrive once each, with no gap, across replay and live."""
    alice, bob = await net.users(2, "overlap")
    room = await net.room(alice, pb.ROOM_KIND_PRIVATE, [bob], "overlap")
    await asyncio.gather(*(net.send(alice, room.id, f"pre-{i}") for i in range(40)))
    call = net.chat.StreamEvents(pb.StreamEventsRequest(cursors=[pb.RoomCursor(room_id=room.id)]), metadata=bob.md)
    sending = asyncio.gather(*(net.send(alice, room.id, f"during-{i}") for i in range(40)))
    seqs: list[int] = []
    while len(seqs) < 80:
        response = await read(call)
        seqs += [e.message_created.seq for e in response.events if e.HasField("message_created")]
    await sending
    call.cancel()
    assert seqs == list(range(1, 81))


# -- bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "room_offset", "expected"),
    [
        ("x" * 4001, 0, Code.INVALID_ARGUMENT),
        ("", 0, Code.INVALID_ARGUMENT),
        ("   ", 0, Code.INVALID_ARGUMENT),
        ("fine", 1_000_000, Code.NOT_FOUND),
    ],
    ids=["oversized", "empty", "blank", "unknown-room"],
)
async def test_bad_send_changes_nothing(
    stack: Stack, net: Clients, pair: tuple[User, User, pb.Room], body: str, room_offset: int, expected: Code
) -> None:
    """Oversized or empty bodies and unknown rooms are refused and leave every table as it was."""
    alice, _, room = pair
    await net.send(alice, room.id, "ok", "a good one")
    before = db_row(stack, "SELECT (SELECT COUNT(*) FROM messages), (SELECT SUM(last_seq) FROM rooms)")
    code = await status_of(net.send(alice, room.id + room_offset, "bad", body))
    assert code == expected
    assert db_row(stack, "SELECT (SELECT COUNT(*) FROM messages), (SELECT SUM(last_seq) FROM rooms)") == before


async def test_body_at_the_default_limit_is_stored(
    stack: Stack, net: Clients, pair: tuple[User, User, pb.Room]
) -> None:
    """A 4000-character body of 4-byte characters fits MySQL's column and comes back intact."""
    alice, bob, room = pair
    body = "🙂" * 4000
    await net.send(alice, room.id, "big", body)
    page = await net.chat.ListMessages(pb.ListMessagesRequest(room_id=room.id), metadata=bob.md)
    assert page.messages[-1].body == body


# -- the server itself ------------------------------------------------------------------------------------


async def test_short_deadline_is_deadline_exceeded_and_server_keeps_serving(net: Clients) -> None:
    """A call with a 1 ms deadline fails DEADLINE_EXCEEDED; the next call still works."""
    alice = await net.register("hurry")
    code = await status_of(net.chat.ListMyRooms(pb.ListMyRoomsRequest(), metadata=alice.md, timeout=0.001))
    assert code == Code.DEADLINE_EXCEEDED
    await net.chat.ListMyRooms(pb.ListMyRoomsRequest(), metadata=alice.md, timeout=5)


async def test_health_reports_serving(net: Clients) -> None:
    """grpc.health.v1 Check says SERVING for parley.chat.v1.ChatService and for the server."""
    health = health_pb2_grpc.HealthStub(net.chat_channel)
    for service in (SERVICE_NAME, ""):
        response = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_service(net: Clients) -> None:
    """Server reflection lists ChatService and the health service."""
    stub = reflection_pb2_grpc.ServerReflectionStub(net.chat_channel)
    call = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = set()
    async for response in call:
        names |= {s.name for s in response.list_services_response.service}
    assert {SERVICE_NAME, "grpc.health.v1.Health"} <= names


async def test_grpcurl_can_call_list_my_rooms(stack: Stack, net: Clients) -> None:
    """grpcurl, through reflection and a bearer token, gets the caller's rooms as JSON."""
    alice = await net.register("curl")
    room = await net.room(alice, pb.ROOM_KIND_PUBLIC, [], "curl room")
    code, out = await grpcurl(
        "-plaintext",
        "-H",
        f"authorization: Bearer {alice.token}",
        "-d",
        "{}",
        stack.chat.address,
        f"{SERVICE_NAME}/ListMyRooms",
    )
    assert code == 0, out
    rooms = json.loads(out)["rooms"]
    assert [(r["room"]["id"], r["room"]["name"]) for r in rooms] == [(str(room.id), "curl room")]


async def test_grpcurl_without_token_is_unauthenticated(stack: Stack) -> None:
    """A grpcurl call without the authorization header gets Unauthenticated."""
    code, out = await grpcurl("-plaintext", "-d", "{}", stack.chat.address, f"{SERVICE_NAME}/ListMyRooms")
    assert code != 0
    assert "Unauthenticated" in out
