"""ModerationService through real auth_svc and chat_svc processes on MySQL.

Export, archive and restore, members and owners, take-downs, the audit log and the live tail.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import orjson
import pytest

from chat_svc.tests.conftest import Stack
from chat_svc.tests.files_support import reason
from chat_svc.tests.netclient import Clients, User, clients, read_until_caught_up
from chat_svc.tests.operators import REASON, Operators, next_events, operators, send_many
from parley.audit.v1 import audit_pb2
from parley.chat.v1 import chat_pb2 as pb, moderation_pb2 as mod

pytestmark = pytest.mark.mysql

Code = grpc.StatusCode


@pytest.fixture
async def net(stack: Stack) -> AsyncIterator[Clients]:
    """Channels to the session's auth_svc and chat_svc processes."""
    async with clients(stack.auth.address, stack.chat.address) as opened:
        yield opened


@pytest.fixture
async def ops(stack: Stack) -> AsyncIterator[Operators]:
    """ModerationService as the stack's operator and auditor."""
    async with operators(stack) as opened:
        yield opened


@pytest.fixture
async def pair(net: Clients) -> tuple[User, User, pb.Room]:
    """Two users in a public channel the first created."""
    alice, bob = await net.users(2, "ops")
    room = await net.room(alice, pb.ROOM_KIND_PUBLIC, [bob], "ops channel")
    return alice, bob, room


# -- export ----------------------------------------------------------------------------------------


async def test_export_of_a_10000_message_room_is_complete_ordered_and_resumes(
    stack: Stack, net: Clients, ops: Operators
) -> None:
    """ExportRoom streams all 10,000 messages in seq order, and from after_seq 9,000 exactly the last 1,000."""
    (alice,) = await net.users(1, "exporter")
    room = await net.room(alice, pb.ROOM_KIND_PRIVATE, [], "big room")
    stored_s = await send_many(net.chat, stack.service_token("operator"), alice, room.id, 10_000)
    started = time.monotonic()
    exported = [
        r.message async for r in ops.stub.ExportRoom(mod.ExportRoomRequest(room_id=room.id), metadata=ops.auditor)
    ]
    export_s = time.monotonic() - started
    assert [(m.seq, m.body) for m in exported] == [(n + 1, f"m{n}") for n in range(10_000)]
    resumed = ops.stub.ExportRoom(mod.ExportRoomRequest(room_id=room.id, after_seq=9_000), metadata=ops.auditor)
    assert [r.message.seq async for r in resumed] == list(range(9_001, 10_001))
    print(f"stored 10,000 in {stored_s:.2f} s; exported them in {export_s:.2f} s")  # the figures, with -s


async def test_export_includes_tombstones_without_their_bodies(
    net: Clients, ops: Operators, pair: tuple[User, User, pb.Room]
) -> None:
    """A taken-down message is exported in its place, bodyless and taken_down."""
    alice, _, room = pair
    for n in range(3):
        await net.send(alice, room.id, f"t-{n}", f"body {n}")
    await ops.take_down(room.id, 2)
    exported = [
        r.message async for r in ops.stub.ExportRoom(mod.ExportRoomRequest(room_id=room.id), metadata=ops.auditor)
    ]
    assert [(m.seq, m.body, m.deleted, m.taken_down) for m in exported] == [
        (1, "body 0", False, False),
        (2, "", True, True),
        (3, "body 2", False, False),
    ]


async def test_export_of_an_unknown_room_is_not_found(ops: Operators) -> None:
    """ExportRoom of a room that does not exist ends NOT_FOUND."""
    call = ops.stub.ExportRoom(mod.ExportRoomRequest(room_id=987_654_321), metadata=ops.auditor)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        async for _ in call:
            pass
    assert refused.value.code() == Code.NOT_FOUND


# -- archive -----------------------------------------------------------------------------------------


async def test_archive_refuses_sends_and_restore_lets_them_through(
    net: Clients, ops: Operators, pair: tuple[User, User, pb.Room]
) -> None:
    """After ArchiveRoom a send answers FAILED_PRECONDITION (reason room_archived); after RestoreRoom it is stored."""
    alice, _, room = pair
    archived = await ops.archive(room.id)
    assert archived.HasField("archived_at") and archived.room.HasField("archived_at")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await net.send(alice, room.id, "while-archived")
    assert refused.value.code() == Code.FAILED_PRECONDITION and reason(refused.value) == "room_archived"
    assert "archived" in (refused.value.details() or "")
    restored = await ops.restore(room.id)
    assert not restored.HasField("archived_at")
    assert (await net.send(alice, room.id, "after-restore")).message.seq == 1


@pytest.mark.parametrize("write", ["edit", "react", "join", "invite"])
async def test_an_archived_room_refuses_members_writes(
    net: Clients, ops: Operators, pair: tuple[User, User, pb.Room], write: str
) -> None:
    """Edits, reactions, joins and invitations to an archived room answer FAILED_PRECONDITION room_archived."""
    alice, _, room = pair
    await net.send(alice, room.id, "before", "before the archive")
    carol = await net.register("carol")
    await ops.archive(room.id)
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "edit": lambda: net.chat.EditMessage(
            pb.EditMessageRequest(room_id=room.id, seq=1, body="x"), metadata=alice.md
        ),
        "react": lambda: net.chat.React(
            pb.ReactRequest(room_id=room.id, seq=1, emoji="👍", add=True), metadata=alice.md
        ),
        "join": lambda: net.chat.JoinRoom(pb.JoinRoomRequest(room_id=room.id), metadata=carol.md),
        "invite": lambda: net.chat.InviteMember(
            pb.InviteMemberRequest(room_id=room.id, user_id=carol.id), metadata=alice.md
        ),
    }
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await calls[write]()
    assert refused.value.code() == Code.FAILED_PRECONDITION and reason(refused.value) == "room_archived"


async def test_an_archived_channel_is_hidden_from_browsing(
    net: Clients, ops: Operators, pair: tuple[User, User, pb.Room]
) -> None:
    """ListPublicRooms leaves an archived channel out, and shows it again once restored."""
    alice, _, room = pair

    async def listed() -> bool:
        request = pb.ListPublicRoomsRequest(query="ops channel", limit=200)
        return room.id in {r.id for r in (await net.chat.ListPublicRooms(request, metadata=alice.md)).rooms}

    assert await listed()
    await ops.archive(room.id)
    assert not await listed()
    await ops.restore(room.id)
    assert await listed()


@pytest.mark.parametrize("given", ["", "   ", "x" * 501])
async def test_a_write_without_a_fitting_reason_is_invalid(
    ops: Operators, pair: tuple[User, User, pb.Room], given: str
) -> None:
    """ArchiveRoom with no reason, a blank one or one over 500 characters answers INVALID_ARGUMENT."""
    _, _, room = pair
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ops.archive(room.id, given)
    assert refused.value.code() == Code.INVALID_ARGUMENT and "reason" in (refused.value.details() or "")


# -- members and owners ------------------------------------------------------------------------------


async def test_removing_the_owner_passes_the_room_to_the_longest_standing_member(
    net: Clients, ops: Operators, pair: tuple[User, User, pb.Room]
) -> None:
    """RemoveRoomMember of the owner leaves the member who joined first as the owner."""
    alice, bob, room = pair
    request = mod.RemoveRoomMemberRequest(room_id=room.id, user_id=alice.id, reason=REASON)
    await ops.stub.RemoveRoomMember(request, metadata=ops.operator)
    found = await ops.stub.FindRooms(mod.FindRoomsRequest(room_ids=[room.id]), metadata=ops.auditor)
    assert [(r.owner_id, r.room.member_count) for r in found.rooms] == [(bob.id, 1)]


async def test_transfer_makes_the_member_owner_and_the_owner_a_moderator(
    ops: Operators, pair: tuple[User, User, pb.Room]
) -> None:
    """TransferOwnership: the member becomes the owner, the previous owner a moderator."""
    alice, bob, room = pair
    request = mod.TransferOwnershipRequest(room_id=room.id, user_id=bob.id, reason=REASON)
    assert (await ops.stub.TransferOwnership(request, metadata=ops.operator)).room.owner_id == bob.id
    members = await ops.stub.ListRoomMembers(mod.ListRoomMembersRequest(room_id=room.id), metadata=ops.auditor)
    assert {(m.user_id, m.role) for m in members.members} == {
        (alice.id, pb.MEMBER_ROLE_MODERATOR),
        (bob.id, pb.MEMBER_ROLE_OWNER),
    }


async def test_find_rooms_pages_by_id_with_a_name_prefix(net: Clients, ops: Operators) -> None:
    """FindRooms by a name prefix (any case) pages ascending ids, with a token until the last page."""
    (owner,) = await net.users(1, "finder")
    prefix = f"Find{owner.id}"
    made = [(await net.room(owner, pb.ROOM_KIND_PUBLIC, [], f"{prefix} {n}")).id for n in range(5)]
    await net.room(owner, pb.ROOM_KIND_PUBLIC, [], f"other {owner.id}")
    seen: list[int] = []
    token = ""
    for _ in range(3):
        request = mod.FindRoomsRequest(name_prefix=prefix.lower(), page_size=2, page_token=token)
        page = await ops.stub.FindRooms(request, metadata=ops.auditor)
        seen += [r.room.id for r in page.rooms]
        token = page.next_page_token
    assert seen == made and token == ""


async def test_list_room_members_pages_by_user_id(net: Clients, ops: Operators) -> None:
    """ListRoomMembers pages members in ascending user id."""
    users = await net.users(4, "paged")
    room = await net.room(users[0], pb.ROOM_KIND_PRIVATE, users[1:], "paged room")
    first = await ops.stub.ListRoomMembers(
        mod.ListRoomMembersRequest(room_id=room.id, page_size=3), metadata=ops.auditor
    )
    rest = await ops.stub.ListRoomMembers(
        mod.ListRoomMembersRequest(room_id=room.id, page_size=3, page_token=first.next_page_token),
        metadata=ops.auditor,
    )
    assert [m.user_id for m in [*first.members, *rest.members]] == sorted(u.id for u in users)
    assert rest.next_page_token == ""


# -- take-downs ----------------------------------------------------------------------------------------


async def test_a_take_down_replays_as_a_taken_down_tombstone_on_resume(
    net: Clients, ops: Operators, pair: tuple[User, User, pb.Room]
) -> None:
    """A member resuming after a take-down gets message_deleted with taken_down and no deleted_by."""
    alice, bob, room = pair
    sent = (await net.send(alice, room.id, "td-1", "something awful")).message
    await ops.take_down(room.id, sent.seq)
    cursor = pb.RoomCursor(room_id=room.id, after_seq=sent.seq, after_change=sent.change)
    call = net.chat.StreamEvents(pb.StreamEventsRequest(cursors=[cursor]), metadata=bob.md)
    try:
        events = await read_until_caught_up(call)
    finally:
        call.cancel()
    [deleted] = [e.message_deleted for e in events if e.HasField("message_deleted")]
    assert (deleted.seq, deleted.body, deleted.taken_down, deleted.deleted_by) == (sent.seq, "", True, 0)


# -- audit log -----------------------------------------------------------------------------------------


async def test_the_audit_log_records_each_write(net: Clients, ops: Operators, pair: tuple[User, User, pb.Room]) -> None:
    """Every write is listed newest first with its actor, action, target and reason."""
    alice, bob, room = pair
    sent = (await net.send(alice, room.id, "audit-1")).message
    await ops.archive(room.id, "archive it")
    await ops.restore(room.id, "restore it")
    await ops.take_down(room.id, sent.seq, "take it down")
    transfer = mod.TransferOwnershipRequest(room_id=room.id, user_id=bob.id, reason="hand it over")
    await ops.stub.TransferOwnership(transfer, metadata=ops.operator)
    remove = mod.RemoveRoomMemberRequest(room_id=room.id, user_id=alice.id, reason="remove her")
    await ops.stub.RemoveRoomMember(remove, metadata=ops.operator)
    room_log = await ops.stub.ListAuditLog(
        audit_pb2.ListAuditLogRequest(target=f"room:{room.id}"), metadata=ops.auditor
    )
    message_log = await ops.stub.ListAuditLog(
        audit_pb2.ListAuditLogRequest(target=f"message:{room.id}/{sent.seq}"), metadata=ops.auditor
    )
    assert [(e.actor, e.action, e.reason) for e in room_log.entries] == [
        ("service:operator", "remove_room_member", "remove her"),
        ("service:operator", "transfer_ownership", "hand it over"),
        ("service:operator", "restore_room", "restore it"),
        ("service:operator", "archive_room", "archive it"),
    ]
    [take_down] = message_log.entries
    assert (take_down.action, take_down.reason, take_down.HasField("at")) == ("take_down_message", "take it down", True)
    assert orjson.loads(take_down.detail_json) == {"sender_id": alice.id, "changed": True}
    ids = [e.id for e in room_log.entries]
    assert ids == sorted(ids, reverse=True)


async def test_a_refused_write_records_nothing(ops: Operators, pair: tuple[User, User, pb.Room]) -> None:
    """A take-down of a seq the room does not have is NOT_FOUND and leaves no audit entry."""
    _, _, room = pair
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ops.take_down(room.id, 99)
    assert refused.value.code() == Code.NOT_FOUND
    log = await ops.stub.ListAuditLog(
        audit_pb2.ListAuditLogRequest(target=f"message:{room.id}/99"), metadata=ops.auditor
    )
    assert list(log.entries) == []


# -- tail --------------------------------------------------------------------------------------------


async def test_a_tail_filtered_by_kind_sees_only_those_kinds(
    net: Clients, ops: Operators, pair: tuple[User, User, pb.Room]
) -> None:
    """TailEvents with kinds [message_deleted] gets the take-down, not the message_created before it."""
    alice, _, room = pair
    request = mod.TailEventsRequest(room_ids=[room.id], kinds=["message_deleted"])
    call = ops.stub.TailEvents(request, metadata=ops.auditor)
    try:
        await asyncio.wait_for(call.initial_metadata(), 5.0)  # the tail is live
        sent = (await net.send(alice, room.id, "tail-1", "watch this")).message
        await ops.take_down(room.id, sent.seq)
        events = await next_events(call)
    finally:
        call.cancel()
    assert [(e.room_id, e.WhichOneof("kind"), e.message_deleted.taken_down) for e in events] == [
        (room.id, "message_deleted", True)
    ]


async def test_a_tail_of_one_room_leaves_other_rooms_out(net: Clients, ops: Operators) -> None:
    """TailEvents of one room gets its messages only, in order."""
    (owner,) = await net.users(1, "tailer")
    watched = await net.room(owner, pb.ROOM_KIND_PRIVATE, [], "watched")
    other = await net.room(owner, pb.ROOM_KIND_PRIVATE, [], "other")
    call = ops.stub.TailEvents(mod.TailEventsRequest(room_ids=[watched.id]), metadata=ops.auditor)
    try:
        await asyncio.wait_for(call.initial_metadata(), 5.0)
        await net.send(owner, other.id, "o-1")
        await net.send(owner, watched.id, "w-1")
        await net.send(owner, watched.id, "w-2")
        events: list[pb.Event] = []
        while len(events) < 2:
            events += [e for e in await next_events(call) if e.HasField("message_created")]
    finally:
        call.cancel()
    assert [(e.room_id, e.message_created.client_msg_id) for e in events] == [(watched.id, "w-1"), (watched.id, "w-2")]


async def test_a_tail_of_an_unknown_kind_is_invalid(ops: Operators) -> None:
    """TailEvents with a kind Event does not have ends INVALID_ARGUMENT naming it."""
    call = ops.stub.TailEvents(mod.TailEventsRequest(kinds=["message_exploded"]), metadata=ops.auditor)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await asyncio.wait_for(call.read(), 5.0)
    assert refused.value.code() == Code.INVALID_ARGUMENT and "message_exploded" in (refused.value.details() or "")
