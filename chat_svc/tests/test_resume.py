"""Resume in order: StreamEvents replays every change after the cursor's change number, in change order."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chat_svc.tests.helpers import ALICE, BOB, CAROL, Caller, ChatHarness, read_until_caught_up
from parley.chat.v1 import chat_pb2 as pb


@pytest.fixture
def room(alice: Caller) -> pb.Room:
    """A private room of Alice (owner), Bob and Carol."""
    return alice.create_room("team", pb.ROOM_KIND_PRIVATE, members=[BOB, CAROL])


def replay(chat: ChatHarness, caller: Caller, room_id: int, after_seq: int, after_change: int) -> list[pb.Event]:
    """The events StreamEvents replays for one cursor, up to caught_up."""
    cursor = pb.RoomCursor(room_id=room_id, after_seq=after_seq, after_change=after_change)
    rpc = chat.open_stream(caller, pb.StreamEventsRequest(cursors=[cursor]))
    try:
        return read_until_caught_up(rpc)
    finally:
        rpc.cancel()


def change_of(event: pb.Event) -> int:
    """The change number a replayed event stands for."""
    kind = event.WhichOneof("kind")
    if kind == "room_updated":
        return event.room_updated.settings_change
    if kind == "role_changed":
        return event.role_changed.member.role_change
    message: pb.Message = getattr(event, str(kind))
    return message.change


def react(caller: Caller, room_id: int, seq: int, emoji: str) -> None:
    """Add a reaction that must be stored."""
    caller.ok("React", pb.ReactRequest(room_id=room_id, seq=seq, emoji=emoji, add=True))


def away(alice: Caller, room_id: int) -> None:
    """What happens while Bob is away after seq 3: a reaction, a rename, a role, a delete, an edit, a new message."""
    react(alice, room_id, 1, "👍")
    alice.ok("UpdateRoom", pb.UpdateRoomRequest(room_id=room_id, name="renamed"))
    alice.ok("SetMemberRole", pb.SetMemberRoleRequest(room_id=room_id, user_id=BOB, role=pb.MEMBER_ROLE_MODERATOR))
    alice.ok("DeleteMessage", pb.DeleteMessageRequest(room_id=room_id, seq=2))
    alice.ok("EditMessage", pb.EditMessageRequest(room_id=room_id, seq=3, body="three, edited"))
    alice.send(room_id, "four")


def test_every_kind_of_change_replays_in_change_order(
    chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room
) -> None:
    """New messages by seq, then reaction, rename, role, delete and edit as snapshots in the order they happened."""
    for body in ("one", "two", "three"):
        alice.send(room.id, body)
    cursor = alice.room(room.id).last_change
    away(alice, room.id)
    events = replay(chat, bob, room.id, 3, cursor)
    assert [e.WhichOneof("kind") for e in events] == [
        "message_created",
        "message_updated",
        "room_updated",
        "role_changed",
        "message_deleted",
        "message_updated",
    ]
    changes = [change_of(e) for e in events[1:]]
    assert changes == sorted(changes) and changes[0] > cursor


def test_a_message_changed_twice_replays_once_in_its_newest_state(
    chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room
) -> None:
    """Two reactions and an edit of one seen message replay as one message_updated holding all three."""
    alice.send(room.id, "one")
    cursor = alice.room(room.id).last_change
    react(alice, room.id, 1, "👍")
    alice.ok("EditMessage", pb.EditMessageRequest(room_id=room.id, seq=1, body="one, edited"))
    react(bob, room.id, 1, "🎉")
    [event] = replay(chat, bob, room.id, 1, cursor)
    updated = event.message_updated
    assert (updated.body, [r.emoji for r in updated.reactions]) == ("one, edited", ["👍", "🎉"])


def test_replayed_reactions_carry_me_for_the_streaming_user(
    chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room
) -> None:
    """Both the missed messages and the snapshots say which reactions are the streaming user's."""
    alice.send(room.id, "seen")
    cursor = alice.room(room.id).last_change
    alice.send(room.id, "missed")
    react(bob, room.id, 1, "👍")
    react(bob, room.id, 2, "🎉")
    react(alice, room.id, 2, "👍")
    events = replay(chat, bob, room.id, 1, cursor)
    created = next(e.message_created for e in events if e.HasField("message_created"))
    updated = next(e.message_updated for e in events if e.HasField("message_updated"))
    assert [(r.emoji, r.me) for r in created.reactions] == [("🎉", True), ("👍", False)]
    assert [(r.emoji, r.me) for r in updated.reactions] == [("👍", True)]


def test_a_tombstone_replays_as_deleted_with_who_deleted_it(
    chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room
) -> None:
    """A message deleted by a moderator replays as message_deleted naming them, without reactions."""
    chat.user(CAROL).send(room.id, "carol's")
    react(bob, room.id, 1, "👍")
    cursor = alice.room(room.id).last_change
    alice.ok("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=1))
    [event] = replay(chat, bob, room.id, 1, cursor)
    deleted = event.message_deleted
    assert (deleted.deleted, deleted.deleted_by, list(deleted.reactions)) == (True, ALICE, [])


def test_changes_at_or_before_the_cursor_are_not_replayed(
    chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room
) -> None:
    """A cursor at the room's last change replays no settings, roles or reactions."""
    for body in ("one", "two", "three"):
        alice.send(room.id, body)
    away(alice, room.id)
    head = alice.room(room.id)
    assert replay(chat, bob, room.id, head.last_seq, head.last_change) == []


def test_replay_pages_keep_the_change_order(make_chat: Callable[..., ChatHarness]) -> None:
    """With pages of 2, every change still comes once and in change order across messages, settings and roles."""
    chat = make_chat(replay_page=2)
    alice, bob = chat.user(ALICE), chat.user(BOB)
    room = alice.create_room("team", pb.ROOM_KIND_PRIVATE, members=[BOB, CAROL])
    for body in ("one", "two", "three"):
        alice.send(room.id, body)
    cursor = alice.room(room.id).last_change
    away(alice, room.id)
    alice.ok("UpdateRoom", pb.UpdateRoomRequest(room_id=room.id, topic="later"))  # the room's newest change wins
    events = [e for e in replay(chat, bob, room.id, 3, cursor) if not e.HasField("message_created")]
    kinds = [e.WhichOneof("kind") for e in events]
    assert kinds == ["message_updated", "role_changed", "message_deleted", "message_updated", "room_updated"]
    changes = [change_of(e) for e in events]
    assert changes == sorted(changes) and len(set(changes)) == len(changes)


def test_a_missed_reply_replays_as_a_message_and_its_root_as_its_newest_state(
    chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room
) -> None:
    """A missed reply comes with the missed messages; its seen root follows as message_updated with the summary."""
    alice.send(room.id, "root")
    cursor = alice.room(room.id).last_change
    reply = alice.ok(
        "SendMessage", pb.SendMessageRequest(room_id=room.id, client_msg_id="r-1", body="reply", thread_root_seq=1)
    ).message
    react(bob, room.id, 1, "👍")
    events = replay(chat, bob, room.id, 1, cursor)
    assert [e.WhichOneof("kind") for e in events] == ["message_created", "message_updated"]
    assert (events[0].message_created.seq, events[0].message_created.thread_root_seq) == (reply.seq, 1)
    root = events[1].message_updated
    assert (root.seq, root.thread.reply_count, [(r.emoji, r.me) for r in root.reactions]) == (1, 1, [("👍", True)])


def test_a_cursor_far_behind_replays_only_the_newest_and_says_where_it_starts(
    make_chat: Callable[..., ChatHarness],
) -> None:
    """With replay_max_messages=3, a cursor 6 messages behind gets replay_started (0 -> 3), then seqs 4-6 only."""
    chat = make_chat(replay_max_messages=3, replay_page=2)
    alice = chat.user(ALICE)
    room = alice.create_room("busy")
    for _ in range(6):
        alice.send(room.id)
    events = replay(chat, alice, room.id, after_seq=0, after_change=0)
    assert events[0].replay_started == pb.ReplayStart(cursor_seq=0, after_seq=3)
    assert [e.message_created.seq for e in events[1:] if e.HasField("message_created")] == [4, 5, 6]


def test_a_cursor_within_the_cap_replays_everything_without_a_start(make_chat: Callable[..., ChatHarness]) -> None:
    """A cursor at most replay_max_messages behind replays every missed message and no replay_started."""
    chat = make_chat(replay_max_messages=3)
    alice = chat.user(ALICE)
    room = alice.create_room("calm")
    for _ in range(5):
        alice.send(room.id)
    events = replay(chat, alice, room.id, after_seq=2, after_change=0)
    assert not any(e.HasField("replay_started") for e in events)
    assert [e.message_created.seq for e in events if e.HasField("message_created")] == [3, 4, 5]
