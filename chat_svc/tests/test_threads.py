"""Replies and threads: a reply is a message naming its root; the root's summary; thread and main-timeline pages."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import grpc
import pytest

from chat_svc.domain import Send, Sent
from chat_svc.locks import RoomLocks
from chat_svc.messages import Messages
from chat_svc.publisher import Publisher
from chat_svc.rooms import Rooms
from chat_svc.tests.helpers import AcceptingRooms, Caller, ChatHarness, new_client_msg_id
from common.db import Database
from common.errors import NotFound
from parley.chat.v1 import chat_pb2 as pb

ALICE, BOB, CAROL = 1, 2, 3


@pytest.fixture
def room(alice: Caller, bob: Caller, carol: Caller) -> pb.Room:
    """A private room of alice, bob and carol."""
    return alice.create_room("threads", pb.ROOM_KIND_PRIVATE, [bob.user_id, carol.user_id])


def _send(room_id: int, root: int, body: str = "a reply", also: bool = False) -> pb.SendMessageRequest:
    return pb.SendMessageRequest(
        room_id=room_id, client_msg_id=new_client_msg_id(), body=body, thread_root_seq=root, also_in_room=also
    )


def reply(caller: Caller, room_id: int, root: int, body: str = "a reply", also: bool = False) -> pb.Message:
    """A reply that must be stored."""
    message: pb.Message = caller.ok("SendMessage", _send(room_id, root, body, also)).message
    return message


def page(caller: Caller, room_id: int, thread: int = 0, anchor: int = 0, limit: int = 200) -> pb.ListMessagesResponse:
    """A forward page of the main timeline (thread 0) or of a thread."""
    request = pb.ListMessagesRequest(
        room_id=room_id, anchor_seq=anchor, direction=pb.DIRECTION_FORWARD, limit=limit, thread_root_seq=thread
    )
    response: pb.ListMessagesResponse = caller.ok("ListMessages", request)
    return response


def message_at(caller: Caller, room_id: int, seq: int) -> pb.Message:
    """The stored message at seq (from the main timeline, or the thread it is in)."""
    for message in [*page(caller, room_id).messages, *page(caller, room_id, thread=seq).messages]:
        if message.seq == seq:
            return message
    raise AssertionError(f"no message {seq}")


def test_a_reply_takes_the_next_seq_and_names_its_root(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """A reply is a message with the room's next seq and its root's seq."""
    root = alice.send(room.id, "a question")
    answer = reply(bob, room.id, root.seq, "an answer")
    assert (answer.seq, answer.thread_root_seq, answer.also_in_room) == (2, root.seq, False)


def test_the_root_carries_a_summary_of_its_replies(alice: Caller, bob: Caller, carol: Caller, room: pb.Room) -> None:
    """The root's summary counts its replies and lists the repliers, the most recent first."""
    root = alice.send(room.id, "a question")
    reply(bob, room.id, root.seq)
    last = reply(carol, room.id, root.seq)
    thread = message_at(alice, room.id, root.seq).thread
    assert (thread.reply_count, thread.last_reply_seq) == (2, last.seq)
    assert list(thread.participant_ids) == [CAROL, BOB]
    assert thread.last_reply_at == last.created_at


def test_a_message_without_replies_has_no_summary(alice: Caller, room: pb.Room) -> None:
    """A message nobody replied to carries no thread summary."""
    alice.send(room.id)
    assert not page(alice, room.id).messages[0].HasField("thread")


def test_the_summary_update_takes_its_own_change_after_the_reply(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """Storing a reply takes two changes: the reply's, then the root's summary's."""
    root = alice.send(room.id)
    answer = reply(bob, room.id, root.seq)
    assert message_at(alice, room.id, root.seq).change == answer.change + 1 == alice.room(room.id).last_change


def test_participants_are_the_five_most_recent_repliers(chat: ChatHarness, alice: Caller, room: pb.Room) -> None:
    """A summary lists at most five distinct repliers, the most recent first."""
    for user in range(4, 10):
        chat.user(ALICE).invite(room.id, user)
    root = alice.send(room.id)
    for user in (2, 3, 4, 5, 6, 7, 3):
        reply(chat.user(user), room.id, root.seq)
    assert list(message_at(alice, room.id, root.seq).thread.participant_ids) == [3, 7, 6, 5, 4]


def test_a_reply_to_a_reply_joins_the_roots_thread(alice: Caller, bob: Caller, carol: Caller, room: pb.Room) -> None:
    """Replying to a reply stores it in the root's thread (threads are one level deep)."""
    root = alice.send(room.id)
    first = reply(bob, room.id, root.seq)
    second = reply(carol, room.id, first.seq)
    assert second.thread_root_seq == root.seq
    assert message_at(alice, room.id, root.seq).thread.reply_count == 2
    assert not message_at(alice, room.id, first.seq).HasField("thread")


def test_a_tombstone_can_be_a_root(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """Replying to a deleted message works, and the tombstone stays the root with its summary."""
    root = alice.send(room.id)
    alice.ok("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=root.seq))
    answer = reply(bob, room.id, root.seq)
    tombstone = message_at(alice, room.id, root.seq)
    assert answer.thread_root_seq == root.seq and tombstone.deleted and tombstone.thread.reply_count == 1


@pytest.mark.parametrize("root", [2, 10**12], ids=["just past the end", "far past the end"])
def test_a_reply_to_a_seq_past_the_end_is_not_found_and_changes_nothing(
    alice: Caller, room: pb.Room, root: int
) -> None:
    """A root seq the room does not have answers NOT_FOUND and stores nothing, counters included."""
    alice.send(room.id)
    before = alice.room(room.id)
    _, code, details = alice.call("SendMessage", _send(room.id, root))
    assert code == grpc.StatusCode.NOT_FOUND and details == f"room {room.id} has no message {root}"
    after = alice.room(room.id)
    assert (after.last_seq, after.last_change) == (before.last_seq, before.last_change)


def test_a_reply_to_a_seq_only_another_room_has_is_not_found(alice: Caller, room: pb.Room) -> None:
    """A root seq that exists only in another room answers NOT_FOUND."""
    other = alice.create_room("other")
    alice.send(other.id)
    alice.send(other.id)
    alice.send(room.id)
    assert alice.code("SendMessage", _send(room.id, 2)) == grpc.StatusCode.NOT_FOUND
    assert alice.room(room.id).last_seq == 1


def test_also_in_room_without_a_root_is_invalid(alice: Caller, room: pb.Room) -> None:
    """also_in_room with thread_root_seq 0 answers INVALID_ARGUMENT and stores nothing."""
    assert alice.code("SendMessage", _send(room.id, 0, also=True)) == grpc.StatusCode.INVALID_ARGUMENT
    assert alice.room(room.id).last_seq == 0


def test_a_negative_root_is_invalid(alice: Caller, room: pb.Room) -> None:
    """A negative thread_root_seq answers INVALID_ARGUMENT."""
    alice.send(room.id)
    assert alice.code("SendMessage", _send(room.id, -1)) == grpc.StatusCode.INVALID_ARGUMENT
    assert alice.room(room.id).last_seq == 1


def test_the_main_timeline_leaves_out_replies_not_sent_to_the_room(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """The main timeline holds the messages that are not replies, and replies also sent to the room."""
    root = alice.send(room.id)
    reply(bob, room.id, root.seq, "thread only")
    shared = reply(bob, room.id, root.seq, "also in the room", also=True)
    after = alice.send(room.id)
    assert [m.seq for m in page(alice, room.id).messages] == [root.seq, shared.seq, after.seq]
    assert shared.also_in_room


def test_a_thread_page_is_the_root_then_its_replies(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """A thread's pages hold its root, then its replies by seq, paged like the timeline."""
    root = alice.send(room.id)
    alice.send(room.id, "unrelated")
    replies = [reply(bob, room.id, root.seq, f"r{n}").seq for n in range(5)]
    first = page(alice, room.id, thread=root.seq, limit=3)
    second = page(alice, room.id, thread=root.seq, anchor=first.messages[-1].seq, limit=3)
    assert [m.seq for m in first.messages] == [root.seq, *replies[:2]] and first.has_more
    assert [m.seq for m in second.messages] == replies[2:] and not second.has_more


def test_a_thread_page_of_a_missing_root_is_not_found(alice: Caller, room: pb.Room) -> None:
    """ListMessages of a thread whose root the room does not have answers NOT_FOUND."""
    request = pb.ListMessagesRequest(room_id=room.id, thread_root_seq=7)
    assert alice.code("ListMessages", request) == grpc.StatusCode.NOT_FOUND


def test_a_deleted_reply_leaves_the_count_with_its_own_change(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """Deleting a reply counts it down on its root, which takes the change after the tombstone's."""
    root = alice.send(room.id)
    answer = reply(bob, room.id, root.seq)
    tombstone = bob.ok("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=answer.seq)).message
    updated = message_at(alice, room.id, root.seq)
    assert (updated.thread.reply_count, updated.thread.last_reply_seq) == (0, answer.seq)
    assert updated.change == tombstone.change + 1


def test_unread_leaves_out_replies_not_sent_to_the_room(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """Replies only in their thread do not count as unread; replies also sent to the room do."""
    root = alice.send(room.id)
    reply(bob, room.id, root.seq)
    reply(bob, room.id, root.seq, also=True)
    assert alice.my_room(room.id).unread_count == 1


# -- in one batch (Messages.store, the one write path) ----------------------------------------------


class Published(list[pb.Event]):
    """What the batch published."""

    def __call__(self, events: Sequence[pb.Event]) -> None:
        """Record events."""
        self.extend(events)


@pytest.fixture
def store(tmp_path: Path, migrated_sqlite: Path) -> Iterator[tuple[Rooms, Messages, Published]]:
    """Rooms and Messages on a fresh database, publishing into a recorder."""
    path = tmp_path / "chat.db"
    shutil.copyfile(migrated_sqlite, path)
    db = Database(f"sqlite:///{path}", threads=2)
    published = Published()
    publisher = Publisher(published)
    locks = RoomLocks()
    yield AcceptingRooms(db, publisher, locks), Messages(db, publisher, locks), published
    db.close()


def test_replies_of_one_batch_touch_their_root_once(store: tuple[Rooms, Messages, Published]) -> None:
    """Several replies to one root in a batch take one summary change, published after their messages."""
    rooms, messages, published = store
    room_id = rooms.create(ALICE, pb.ROOM_KIND_PRIVATE, "batch", "", [BOB]).id
    messages.send(ALICE, room_id, "root", "root")
    published.clear()
    messages.store([Send(BOB, room_id, "r1", "one", 1), Send(ALICE, room_id, "r2", "two", 1)])
    kinds = [e.WhichOneof("kind") for e in published]
    assert kinds == ["message_created", "message_created", "thread_updated"]
    update = published[-1].thread_updated
    assert (update.root_seq, update.change, update.thread.reply_count) == (1, 4, 2)
    assert list(update.thread.participant_ids) == [ALICE, BOB]
    assert rooms.get(ALICE, room_id).last_change == 4


def test_a_bad_root_refuses_only_its_own_send(store: tuple[Rooms, Messages, Published]) -> None:
    """In a batch, a reply to a missing seq is NOT_FOUND while the others are stored gap-free."""
    rooms, messages, _ = store
    room_id = rooms.create(ALICE, pb.ROOM_KIND_PRIVATE, "batch", "", [BOB]).id
    messages.send(ALICE, room_id, "root", "root")
    results = messages.store([Send(BOB, room_id, "bad", "x", 9), Send(BOB, room_id, "ok", "y", 1)])
    assert isinstance(results[0], NotFound)
    assert isinstance(results[1], Sent) and results[1].message.seq == 2
    assert rooms.get(ALICE, room_id).last_seq == 2
