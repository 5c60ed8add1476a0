"""Messages, history, read markers and typing through ChatServicer (grpcio-testing, SQLite)."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
import pytest

from chat_svc.tests.helpers import ALICE, BOB, Caller, ChatHarness
from common.limits import COUNT_MAX
from parley.chat.v1 import chat_pb2 as pb

Code = grpc.StatusCode
BACKWARD, FORWARD = pb.DIRECTION_BACKWARD, pb.DIRECTION_FORWARD


@pytest.fixture
def room(alice: Caller) -> pb.Room:
    """A private room of Alice (owner) and Bob."""
    return alice.create_room("team", pb.ROOM_KIND_PRIVATE, members=[BOB])


def _send_request(room_id: int, body: str = "hi", client_msg_id: str = "m-1") -> pb.SendMessageRequest:
    return pb.SendMessageRequest(room_id=room_id, client_msg_id=client_msg_id, body=body)


# -- who may do what --------------------------------------------------------------------------------

NON_MEMBER_CALLS: dict[str, Callable[[int], object]] = {
    "SendMessage": lambda room_id: _send_request(room_id),
    "ListMessages": lambda room_id: pb.ListMessagesRequest(room_id=room_id),
    "SendTyping": lambda room_id: pb.SendTypingRequest(room_id=room_id),
    "MarkRead": lambda room_id: pb.MarkReadRequest(room_id=room_id, seq=1),
    "EditMessage": lambda room_id: pb.EditMessageRequest(room_id=room_id, seq=1, body="mine now"),
    "DeleteMessage": lambda room_id: pb.DeleteMessageRequest(room_id=room_id, seq=1),
}


@pytest.mark.parametrize("kind", [pb.ROOM_KIND_PUBLIC, pb.ROOM_KIND_PRIVATE], ids=["public", "private"])
@pytest.mark.parametrize("method", list(NON_MEMBER_CALLS))
def test_non_member_is_refused_and_nothing_changes(
    chat: ChatHarness, alice: Caller, carol: Caller, method: str, kind: int
) -> None:
    """A non-member gets PERMISSION_DENIED on message calls (even in a public channel); nothing is stored."""
    room = alice.create_room("room", kind, members=[BOB])
    alice.send(room.id, "first")
    before = alice.room(room.id)
    _, code, details = carol.call(method, NON_MEMBER_CALLS[method](room.id))
    assert code == Code.PERMISSION_DENIED
    assert "not a member" in details
    after = alice.room(room.id)
    assert (after.last_seq, after.last_change) == (before.last_seq, before.last_change)
    assert chat.message_rows() == 1
    assert [m.body for m in alice.history(room.id).messages] == ["first"]


def test_non_member_typing_reaches_nobody(chat: ChatHarness, alice: Caller, carol: Caller, room: pb.Room) -> None:
    """A refused SendTyping publishes no event to members' streams."""
    rpc = chat.open_stream(alice, pb.StreamEventsRequest())
    assert rpc.take_response().caught_up
    assert carol.code("SendTyping", pb.SendTypingRequest(room_id=room.id)) == Code.PERMISSION_DENIED
    alice.ok("SendTyping", pb.SendTypingRequest(room_id=room.id))
    [event] = rpc.take_response().events
    assert event.typing.user_id == ALICE
    rpc.cancel()


@pytest.mark.parametrize("method", ["SendMessage", "ListMessages", "MarkRead"])
def test_message_calls_on_unknown_room_are_not_found(alice: Caller, method: str) -> None:
    """Message calls naming a room that does not exist are NOT_FOUND."""
    request = NON_MEMBER_CALLS[method](777)
    assert alice.code(method, request) == Code.NOT_FOUND


# -- SendMessage ------------------------------------------------------------------------------------


def test_seq_counts_up_from_one(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """Messages get seq 1, 2, 3 in the order they are stored, whoever sends them."""
    seqs = [alice.send(room.id).seq, bob.send(room.id).seq, alice.send(room.id).seq]
    assert seqs == [1, 2, 3]
    assert alice.room(room.id).last_seq == 3


def test_seq_is_per_room(alice: Caller, room: pb.Room) -> None:
    """Each room numbers its own messages from 1."""
    other = alice.create_room("other")
    alice.send(room.id)
    alice.send(room.id)
    assert alice.send(other.id).seq == 1


def test_sent_message_carries_what_was_stored(alice: Caller, room: pb.Room) -> None:
    """The response echoes room, sender, client_msg_id and body, with created_at set and no edit."""
    response = alice.ok("SendMessage", _send_request(room.id, "line one\n\tline two", "abc"))
    message = response.message
    assert response.duplicate is False
    assert (message.room_id, message.sender_id, message.client_msg_id) == (room.id, ALICE, "abc")
    assert message.body == "line one\n\tline two"
    assert message.HasField("created_at")
    assert not message.HasField("edited_at")
    assert message.change == 1
    assert not message.deleted


def test_retry_with_same_client_msg_id_returns_original(chat: ChatHarness, alice: Caller, room: pb.Room) -> None:
    """A retry returns the original message (same seq, duplicate=true) and stores nothing new."""
    first = alice.ok("SendMessage", _send_request(room.id, "hello", "retry-me"))
    retry = alice.ok("SendMessage", _send_request(room.id, "hello", "retry-me"))
    assert retry.duplicate is True
    assert retry.message == first.message
    assert alice.room(room.id).last_seq == 1
    assert chat.message_rows() == 1


def test_retry_with_a_different_body_still_returns_original(alice: Caller, room: pb.Room) -> None:
    """The client_msg_id decides: a retry with another body gets the original body back."""
    alice.ok("SendMessage", _send_request(room.id, "original", "key"))
    retry = alice.ok("SendMessage", _send_request(room.id, "changed", "key"))
    assert (retry.duplicate, retry.message.body) == (True, "original")


def test_same_client_msg_id_from_another_user_is_a_new_message(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """client_msg_id is unique per sender: Bob reusing Alice's id stores his own message."""
    mine = alice.ok("SendMessage", _send_request(room.id, "from alice", "shared"))
    theirs = bob.ok("SendMessage", _send_request(room.id, "from bob", "shared"))
    assert theirs.duplicate is False
    assert (mine.message.seq, theirs.message.seq) == (1, 2)
    assert theirs.message.sender_id == BOB


def test_same_client_msg_id_in_another_room_is_a_new_message(alice: Caller, room: pb.Room) -> None:
    """client_msg_id is unique per room: the same id in another room stores a new message."""
    other = alice.create_room("other")
    alice.ok("SendMessage", _send_request(room.id, "a", "shared"))
    assert alice.ok("SendMessage", _send_request(other.id, "b", "shared")).duplicate is False


@pytest.mark.parametrize(
    ("body", "client_msg_id"),
    [
        ("", "m"),
        ("   \n\t ", "m"),
        ("x" * 101, "m"),
        ("bell \x07", "m"),
        ("nul \x00", "m"),
        ("escape \x1b[31m", "m"),
        ("hello", ""),
        ("hello", "x" * 65),
        ("hello", "naïve"),
        ("hello", "tab\tid"),
    ],
    ids=[
        "empty-body",
        "whitespace-body",
        "body-over-limit",
        "bell",
        "nul",
        "escape",
        "missing-client-msg-id",
        "65-char-client-msg-id",
        "non-ascii-client-msg-id",
        "control-in-client-msg-id",
    ],
)
def test_bad_send_is_invalid_and_stores_nothing(
    chat: ChatHarness, alice: Caller, room: pb.Room, body: str, client_msg_id: str
) -> None:
    """Broken bodies and client_msg_ids are INVALID_ARGUMENT; seq does not move and no row is written."""
    _, code, details = alice.call("SendMessage", _send_request(room.id, body, client_msg_id))
    assert code == Code.INVALID_ARGUMENT
    assert details
    assert alice.room(room.id).last_seq == 0
    assert chat.message_rows() == 0


def test_body_at_the_limit_and_64_char_client_msg_id_are_accepted(alice: Caller, room: pb.Room) -> None:
    """Exactly max_message_chars characters and a 64-character client_msg_id are fine."""
    message = alice.send(room.id, "y" * 100, "k" * 64)
    assert (len(message.body), message.client_msg_id) == (100, "k" * 64)


def test_body_limit_counts_characters_not_bytes(alice: Caller, room: pb.Room) -> None:
    """A body of 100 four-byte characters is within a 100-character limit and stored intact."""
    body = "😀" * 100
    alice.send(room.id, body)
    assert alice.history(room.id).messages[0].body == body


# -- EditMessage / DeleteMessage -----------------------------------------------------------------------


def test_edit_replaces_body_and_takes_a_new_change(alice: Caller, room: pb.Room) -> None:
    """An edit sets the new body, edited_at, and the room's next change number; seq stays."""
    sent = alice.send(room.id, "draft")
    alice.send(room.id, "second")
    edited = alice.ok("EditMessage", pb.EditMessageRequest(room_id=room.id, seq=sent.seq, body="final")).message
    assert (edited.seq, edited.body) == (sent.seq, "final")
    assert edited.HasField("edited_at")
    assert edited.change == 3 > sent.change
    assert alice.room(room.id).last_change == 3
    assert alice.room(room.id).last_seq == 2
    assert alice.history(room.id).messages[0].body == "final"


def test_edit_with_the_same_body_changes_nothing(alice: Caller, room: pb.Room) -> None:
    """Editing to the current body leaves the message and the room's change counter alone."""
    sent = alice.send(room.id, "same")
    result = alice.ok("EditMessage", pb.EditMessageRequest(room_id=room.id, seq=sent.seq, body="same")).message
    assert result == sent
    assert alice.room(room.id).last_change == 1


@pytest.mark.parametrize("body", ["", "  ", "z" * 101, "bad\x07"], ids=["empty", "blank", "too-long", "control"])
def test_edit_checks_the_body_like_send(alice: Caller, room: pb.Room, body: str) -> None:
    """An edit to an invalid body is INVALID_ARGUMENT and the message is unchanged."""
    sent = alice.send(room.id, "keep me")
    code = alice.code("EditMessage", pb.EditMessageRequest(room_id=room.id, seq=sent.seq, body=body))
    assert code == Code.INVALID_ARGUMENT
    assert alice.history(room.id).messages[0].body == "keep me"


def test_only_the_author_may_edit(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """Another member editing your message is PERMISSION_DENIED; the body stays."""
    sent = alice.send(room.id, "alice wrote this")
    code = bob.code("EditMessage", pb.EditMessageRequest(room_id=room.id, seq=sent.seq, body="bob was here"))
    assert code == Code.PERMISSION_DENIED
    assert bob.history(room.id).messages[0].body == "alice wrote this"


def test_a_plain_member_may_not_delete_anothers_message(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """A plain member deleting someone else's message is PERMISSION_DENIED (owners and moderators may)."""
    sent = alice.send(room.id, "alice wrote this")
    assert bob.code("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=sent.seq)) == (Code.PERMISSION_DENIED)
    assert not bob.history(room.id).messages[0].deleted


def test_delete_leaves_a_tombstone(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """A deleted message stays in history at its seq: deleted=true, empty body, new change."""
    alice.send(room.id, "one")
    victim = alice.send(room.id, "two")
    alice.send(room.id, "three")
    tombstone = alice.ok("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=victim.seq)).message
    assert (tombstone.deleted, tombstone.body, tombstone.change) == (True, "", 4)
    history = bob.history(room.id).messages
    assert [m.seq for m in history] == [1, 2, 3]
    assert (history[1].deleted, history[1].body) == (True, "")
    assert alice.room(room.id).last_seq == 3


def test_delete_twice_is_fine(alice: Caller, room: pb.Room) -> None:
    """Deleting a tombstone returns it again without taking another change number."""
    sent = alice.send(room.id)
    first = alice.ok("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=sent.seq)).message
    again = alice.ok("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=sent.seq)).message
    assert again == first
    assert alice.room(room.id).last_change == 2


def test_deleted_message_cannot_be_edited(alice: Caller, room: pb.Room) -> None:
    """Editing a tombstone is FAILED_PRECONDITION and it stays empty."""
    sent = alice.send(room.id)
    alice.ok("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=sent.seq))
    code = alice.code("EditMessage", pb.EditMessageRequest(room_id=room.id, seq=sent.seq, body="back"))
    assert code == Code.FAILED_PRECONDITION
    assert alice.history(room.id).messages[0].body == ""


@pytest.mark.parametrize("method", ["EditMessage", "DeleteMessage"])
def test_edit_or_delete_unknown_seq_is_not_found(alice: Caller, room: pb.Room, method: str) -> None:
    """Editing or deleting a seq the room does not have is NOT_FOUND."""
    alice.send(room.id)
    request = getattr(pb, f"{method}Request")(room_id=room.id, seq=2)
    if method == "EditMessage":
        request.body = "x"
    assert alice.code(method, request) == Code.NOT_FOUND


def test_retry_of_a_deleted_message_returns_the_tombstone(alice: Caller, room: pb.Room) -> None:
    """A late retry of a send whose message was deleted returns the tombstone, not a new message."""
    sent = alice.send(room.id, "oops", "late-retry")
    alice.ok("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=sent.seq))
    retry = alice.ok("SendMessage", _send_request(room.id, "oops", "late-retry"))
    assert (retry.duplicate, retry.message.seq, retry.message.deleted) == (True, sent.seq, True)


# -- ListMessages -----------------------------------------------------------------------------------


@pytest.fixture
def busy_room(alice: Caller, bob: Caller, room: pb.Room) -> pb.Room:
    """The room with 23 messages, alternating senders."""
    for i in range(23):
        (alice if i % 2 == 0 else bob).send(room.id, f"message {i + 1}")
    return room


def test_walking_backward_returns_every_seq_once(alice: Caller, busy_room: pb.Room) -> None:
    """BACKWARD pages of 5 from anchor 0, each anchored at the page's oldest seq, cover 1..23 once."""
    seen: list[int] = []
    anchor, pages = 0, 0
    while True:
        page = alice.history(busy_room.id, anchor, BACKWARD, limit=5)
        seqs = [m.seq for m in page.messages]
        assert seqs == sorted(seqs), "each page is in ascending seq order"
        seen = seqs + seen
        pages += 1
        if not page.has_more:
            break
        anchor = seqs[0]
    assert seen == list(range(1, 24))
    assert pages == 5


def test_walking_forward_returns_every_seq_once(alice: Caller, busy_room: pb.Room) -> None:
    """FORWARD pages of 5 from anchor 0, each anchored at the page's newest seq, cover 1..23 once."""
    seen: list[int] = []
    anchor = 0
    while True:
        page = alice.history(busy_room.id, anchor, FORWARD, limit=5)
        seen += [m.seq for m in page.messages]
        if not page.has_more:
            break
        anchor = page.messages[-1].seq
    assert seen == list(range(1, 24))


def test_backward_from_zero_reads_the_newest(alice: Caller, busy_room: pb.Room) -> None:
    """BACKWARD with anchor 0 is the newest page, oldest first."""
    page = alice.history(busy_room.id, 0, BACKWARD, limit=3)
    assert [m.seq for m in page.messages] == [21, 22, 23]
    assert [m.body for m in page.messages] == ["message 21", "message 22", "message 23"]


def test_unspecified_direction_means_backward(alice: Caller, busy_room: pb.Room) -> None:
    """DIRECTION_UNSPECIFIED reads older messages, like BACKWARD."""
    page = alice.history(busy_room.id, 10, pb.DIRECTION_UNSPECIFIED, limit=3)
    assert [m.seq for m in page.messages] == [7, 8, 9]


def test_exact_last_page_has_no_more(alice: Caller, busy_room: pb.Room) -> None:
    """A page that ends exactly at the last message says has_more=false."""
    page = alice.history(busy_room.id, 18, FORWARD, limit=5)
    assert ([m.seq for m in page.messages], page.has_more) == ([19, 20, 21, 22, 23], False)


def test_limit_zero_means_fifty(alice: Caller, room: pb.Room) -> None:
    """A limit of 0 returns the default page of 50."""
    for _ in range(51):
        alice.send(room.id)
    page = alice.history(room.id, 0, BACKWARD, limit=0)
    assert len(page.messages) == 50
    assert (page.messages[0].seq, page.has_more) == (2, True)


@pytest.mark.parametrize("limit", [201, -1])
def test_limit_out_of_range_is_invalid(alice: Caller, room: pb.Room, limit: int) -> None:
    """A limit over 200 (or negative) is INVALID_ARGUMENT."""
    request = pb.ListMessagesRequest(room_id=room.id, limit=limit)
    assert alice.code("ListMessages", request) == Code.INVALID_ARGUMENT


def test_negative_anchor_is_invalid(alice: Caller, room: pb.Room) -> None:
    """A negative anchor_seq is INVALID_ARGUMENT."""
    assert alice.code("ListMessages", pb.ListMessagesRequest(room_id=room.id, anchor_seq=-1)) == Code.INVALID_ARGUMENT


def test_empty_room_has_empty_history(alice: Caller, room: pb.Room) -> None:
    """A room without messages returns no messages and has_more=false."""
    page = alice.history(room.id, 0, BACKWARD)
    assert (list(page.messages), page.has_more) == ([], False)


# -- MarkRead and unread counts ---------------------------------------------------------------------------


def test_unread_counts_only_others_messages(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """Unread counts the other members' messages after the marker, never your own."""
    alice.send(room.id)
    alice.send(room.id)
    assert (bob.my_room(room.id).unread_count, bob.my_room(room.id).last_read_seq) == (2, 0)
    assert (alice.my_room(room.id).unread_count, alice.my_room(room.id).last_read_seq) == (0, 2)


def test_sending_moves_your_own_marker(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """Sending a message moves the sender's read marker to it (what they replied to counts as read)."""
    alice.send(room.id)
    bob.send(room.id)
    assert (bob.my_room(room.id).unread_count, bob.my_room(room.id).last_read_seq) == (0, 2)
    assert (alice.my_room(room.id).unread_count, alice.my_room(room.id).last_read_seq) == (1, 1)


def test_unread_excludes_deleted_messages(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """A message deleted before it was read is not unread."""
    alice.send(room.id)
    doomed = alice.send(room.id)
    alice.ok("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=doomed.seq))
    assert bob.my_room(room.id).unread_count == 1


def test_unread_count_is_exact_however_far_behind(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """Unread is the room's timeline counter minus the member's: exact past COUNT_MAX, where mentions stop."""
    for _ in range(COUNT_MAX + 3):
        alice.send(room.id)
    assert bob.my_room(room.id).unread_count == COUNT_MAX + 3
    response = bob.ok("MarkRead", pb.MarkReadRequest(room_id=room.id, seq=2))
    assert response.unread_count == COUNT_MAX + 1


def test_deleting_a_read_message_leaves_unread_as_it_was(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """A deleted message below the marker leaves the unread count after it unchanged."""
    read = alice.send(room.id)
    alice.send(room.id)
    bob.ok("MarkRead", pb.MarkReadRequest(room_id=room.id, seq=read.seq))
    alice.ok("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=read.seq))
    assert bob.my_room(room.id).unread_count == 1


def test_mark_read_moves_the_marker_and_answers_unread(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """MarkRead returns the new marker and what is still unread after it."""
    for _ in range(5):
        alice.send(room.id)
    response = bob.ok("MarkRead", pb.MarkReadRequest(room_id=room.id, seq=3))
    assert (response.last_read_seq, response.unread_count) == (3, 2)
    mine = bob.my_room(room.id)
    assert (mine.last_read_seq, mine.unread_count) == (3, 2)


def test_mark_read_never_moves_back(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """Marking an older seq keeps the newer marker."""
    for _ in range(5):
        alice.send(room.id)
    bob.ok("MarkRead", pb.MarkReadRequest(room_id=room.id, seq=4))
    response = bob.ok("MarkRead", pb.MarkReadRequest(room_id=room.id, seq=2))
    assert (response.last_read_seq, response.unread_count) == (4, 1)
    assert bob.my_room(room.id).last_read_seq == 4


def test_mark_read_clamps_to_last_seq(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """A seq beyond the newest message is clamped to last_seq, so later messages still count."""
    alice.send(room.id)
    alice.send(room.id)
    assert bob.ok("MarkRead", pb.MarkReadRequest(room_id=room.id, seq=1000)).last_read_seq == 2
    alice.send(room.id)
    assert bob.my_room(room.id).unread_count == 1


def test_mark_read_negative_seq_is_invalid(bob: Caller, room: pb.Room) -> None:
    """A negative seq is INVALID_ARGUMENT."""
    assert bob.code("MarkRead", pb.MarkReadRequest(room_id=room.id, seq=-1)) == Code.INVALID_ARGUMENT


# -- SendTyping -------------------------------------------------------------------------------------------


def test_typing_expires_after_the_configured_ttl(chat: ChatHarness, alice: Caller, room: pb.Room) -> None:
    """SendTyping answers an expiry about typing_ttl_seconds ahead and stores nothing."""
    response = alice.ok("SendTyping", pb.SendTypingRequest(room_id=room.id))
    ahead = response.expires_at.ToNanoseconds() / 1e9 - time.time()
    assert chat.settings.typing_ttl_seconds - 2 < ahead <= chat.settings.typing_ttl_seconds + 0.5
    assert alice.room(room.id).last_seq == 0
