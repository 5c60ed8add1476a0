"""StreamEvents through ChatServicer: replay after cursors, caught_up, live events (grpcio-testing)."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from chat_svc.tests.helpers import (
    ALICE,
    BOB,
    CAROL,
    Caller,
    ChatHarness,
    created_seqs,
    read_until_caught_up,
)
from parley.chat.v1 import chat_pb2 as pb

Code = grpc.StatusCode


@pytest.fixture
def room(alice: Caller) -> pb.Room:
    """A private room of Alice (owner) and Bob."""
    return alice.create_room("team", pb.ROOM_KIND_PRIVATE, members=[BOB])


def _cursor(room_id: int, after_seq: int = 0, after_change: int = 0) -> pb.StreamEventsRequest:
    return pb.StreamEventsRequest(
        cursors=[pb.RoomCursor(room_id=room_id, after_seq=after_seq, after_change=after_change)]
    )


def _events(responses: list[pb.StreamEventsResponse]) -> list[pb.Event]:
    return [event for response in responses for event in response.events]


def test_without_cursors_the_stream_starts_caught_up(chat: ChatHarness, bob: Caller, room: pb.Room) -> None:
    """With no cursors the first response is caught_up and carries no events."""
    responses, code, _ = chat.stream(bob, pb.StreamEventsRequest(), take=1)
    assert code is None
    assert responses[0].caught_up
    assert not responses[0].events


def test_replay_after_cursor_then_caught_up(chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room) -> None:
    """A cursor at seq 2 of 5 replays seqs 3, 4, 5 with their bodies, then caught_up."""
    for i in range(5):
        alice.send(room.id, f"m{i + 1}")
    responses, code, _ = chat.stream(bob, _cursor(room.id, after_seq=2), take=2)
    assert code is None
    replay, marker = responses
    assert [e.message_created.seq for e in replay.events] == [3, 4, 5]
    assert [e.message_created.body for e in replay.events] == ["m3", "m4", "m5"]
    assert all(e.room_id == room.id for e in replay.events)
    assert not replay.caught_up
    assert marker.caught_up
    assert not marker.events


def test_cursor_at_the_head_replays_nothing(chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room) -> None:
    """A cursor already at last_seq goes straight to caught_up."""
    alice.send(room.id)
    alice.send(room.id)
    responses, _, _ = chat.stream(bob, _cursor(room.id, after_seq=2), take=1)
    assert responses[0].caught_up
    assert not responses[0].events


def test_replay_comes_in_pages(make_chat: Callable[..., ChatHarness]) -> None:
    """With replay_page=4, ten missed messages arrive as pages of 4, 4, 2, each in order."""
    chat = make_chat(replay_page=4)
    alice = chat.user(ALICE)
    room = alice.create_room("paged")
    for _ in range(10):
        alice.send(room.id)
    rpc = chat.open_stream(alice, _cursor(room.id))
    pages = []
    while not (response := rpc.take_response()).caught_up:
        pages.append(created_seqs(response.events, room.id))
    rpc.cancel()
    assert pages == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]


def test_replay_includes_tombstones(chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room) -> None:
    """A message deleted before the replay is replayed as a tombstone at its seq."""
    alice.send(room.id, "keep")
    gone = alice.send(room.id, "secret")
    alice.ok("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=gone.seq))
    responses, _, _ = chat.stream(bob, _cursor(room.id), take=2)
    replayed = [e.message_created for e in responses[0].events]
    assert [(m.seq, m.deleted, m.body) for m in replayed] == [(1, False, "keep"), (2, True, "")]


def test_live_messages_follow_caught_up(chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room) -> None:
    """After caught_up, a message sent by another member arrives as message_created."""
    alice.send(room.id, "old")
    rpc = chat.open_stream(bob, _cursor(room.id, after_seq=0))
    assert created_seqs(read_until_caught_up(rpc), room.id) == [1]
    sent = alice.send(room.id, "new")
    live = rpc.take_response()
    rpc.cancel()
    assert not live.caught_up
    [event] = live.events
    assert event.message_created == sent


def test_live_events_keep_seq_order(chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room) -> None:
    """Messages sent while streaming arrive in seq order, each once."""
    rpc = chat.open_stream(bob, pb.StreamEventsRequest())
    read_until_caught_up(rpc)
    for _ in range(6):
        alice.send(room.id)
    seqs: list[int] = []
    while len(seqs) < 6:
        seqs += created_seqs(rpc.take_response().events, room.id)
    rpc.cancel()
    assert seqs == [1, 2, 3, 4, 5, 6]


def test_edits_and_deletes_after_a_change_are_replayed(
    chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room
) -> None:
    """Edits and deletes of already-seen messages made after the cursor's change replay as updated/deleted."""
    first = alice.send(room.id, "one")
    second = alice.send(room.id, "two")
    seen_change = alice.room(room.id).last_change  # the client has seq 2 and change 2
    alice.ok("EditMessage", pb.EditMessageRequest(room_id=room.id, seq=first.seq, body="one, edited"))
    alice.ok("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=second.seq))
    responses, _, _ = chat.stream(bob, _cursor(room.id, after_seq=2, after_change=seen_change), take=2)
    edits = _events(responses[:1])
    assert [e.WhichOneof("kind") for e in edits] == ["message_updated", "message_deleted"]
    assert (edits[0].message_updated.seq, edits[0].message_updated.body) == (1, "one, edited")
    assert (edits[1].message_deleted.seq, edits[1].message_deleted.deleted) == (2, True)
    assert responses[1].caught_up


def test_changes_already_seen_are_not_replayed(chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room) -> None:
    """An edit at or before the cursor's after_change is not sent again."""
    sent = alice.send(room.id, "one")
    alice.ok("EditMessage", pb.EditMessageRequest(room_id=room.id, seq=sent.seq, body="edited"))
    head = alice.room(room.id)
    responses, _, _ = chat.stream(bob, _cursor(room.id, head.last_seq, head.last_change), take=1)
    assert responses[0].caught_up
    assert not responses[0].events


def test_after_change_zero_skips_edit_replay(chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room) -> None:
    """after_change 0 replays no edits, as documented."""
    sent = alice.send(room.id, "one")
    alice.ok("EditMessage", pb.EditMessageRequest(room_id=room.id, seq=sent.seq, body="edited"))
    responses, _, _ = chat.stream(bob, _cursor(room.id, after_seq=1), take=1)
    assert responses[0].caught_up
    assert not responses[0].events


def test_new_messages_replay_in_their_current_form(
    chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room
) -> None:
    """A message missed entirely replays once, as message_created with its edited body, not also as an edit."""
    alice.send(room.id, "seen")
    seen_change = alice.room(room.id).last_change
    missed = alice.send(room.id, "draft")
    alice.ok("EditMessage", pb.EditMessageRequest(room_id=room.id, seq=missed.seq, body="final"))
    responses, _, _ = chat.stream(bob, _cursor(room.id, after_seq=1, after_change=seen_change), take=2)
    events = _events(responses)
    assert [(e.WhichOneof("kind"), e.message_created.body) for e in events] == [("message_created", "final")]


def test_cursor_for_a_room_you_are_not_in_is_permission_denied(
    chat: ChatHarness, alice: Caller, carol: Caller, room: pb.Room
) -> None:
    """A user may not name someone else's room in a cursor, not even a public one."""
    public = alice.create_room("public")
    for target in (room, public):
        responses, code, details = chat.stream(carol, _cursor(target.id), take=1)
        assert (responses, code) == ([], Code.PERMISSION_DENIED)
        assert str(target.id) in details


def test_stream_only_carries_your_rooms(chat: ChatHarness, alice: Caller, carol: Caller, room: pb.Room) -> None:
    """Events of rooms the user is not in never reach their stream."""
    own = carol.create_room("carol's")
    rpc = chat.open_stream(carol, pb.StreamEventsRequest())
    read_until_caught_up(rpc)
    alice.send(room.id, "not for carol")
    mine = carol.send(own.id, "for carol")
    response = rpc.take_response()
    rpc.cancel()
    assert [e.message_created for e in response.events] == [mine]


def test_typing_reaches_other_members(chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room) -> None:
    """SendTyping by Alice shows up on Bob's stream with her id and the expiry."""
    rpc = chat.open_stream(bob, pb.StreamEventsRequest())
    read_until_caught_up(rpc)
    expires = alice.ok("SendTyping", pb.SendTypingRequest(room_id=room.id)).expires_at
    [event] = rpc.take_response().events
    rpc.cancel()
    assert event.room_id == room.id
    assert (event.typing.user_id, event.typing.expires_at) == (ALICE, expires)


def test_room_joined_while_streaming_is_followed(chat: ChatHarness, alice: Caller, carol: Caller) -> None:
    """After an invite arrives mid-stream, the invitee's stream carries that room's messages."""
    private = alice.create_room("later", pb.ROOM_KIND_PRIVATE)
    rpc = chat.open_stream(carol, pb.StreamEventsRequest())
    read_until_caught_up(rpc)
    alice.invite(private.id, CAROL)
    sent = alice.send(private.id, "welcome")
    events: list[pb.Event] = []
    while len(events) < 4:
        events += rpc.take_response().events
    rpc.cancel()
    assert events[0].invitation_changed.state == pb.INVITATION_STATE_PENDING  # then Carol accepts
    assert events[1].invitation_changed.state == pb.INVITATION_STATE_ACCEPTED
    assert events[2].member_joined.user_id == CAROL
    assert events[3].message_created == sent


def test_read_markers_reach_only_their_owner(chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room) -> None:
    """Bob's MarkRead reaches Bob's stream but not Alice's."""
    alice.send(room.id)
    alice_rpc = chat.open_stream(alice, pb.StreamEventsRequest())
    bob_rpc = chat.open_stream(bob, pb.StreamEventsRequest())
    read_until_caught_up(alice_rpc)
    read_until_caught_up(bob_rpc)
    bob.ok("MarkRead", pb.MarkReadRequest(room_id=room.id, seq=1))
    alice.ok("SendTyping", pb.SendTypingRequest(room_id=room.id))  # something Alice does receive
    [bob_event] = bob_rpc.take_response().events[:1]
    alice_kinds = [e.WhichOneof("kind") for e in alice_rpc.take_response().events]
    alice_rpc.cancel()
    bob_rpc.cancel()
    assert (bob_event.read_marker.user_id, bob_event.read_marker.last_read_seq) == (BOB, 1)
    assert alice_kinds == ["typing"]


def test_service_stream_sees_every_room(chat: ChatHarness, alice: Caller, carol: Caller, room: pb.Room) -> None:
    """An all_rooms stream with a service token receives messages of any room."""
    other = carol.create_room("elsewhere")
    service = chat.caller(chat.mint.token("service:edge_gateway"))
    rpc = chat.open_stream(service, pb.StreamEventsRequest(all_rooms=True))
    read_until_caught_up(rpc)
    alice.send(room.id)
    carol.send(other.id)
    events: list[pb.Event] = []
    while len(created_seqs(events, room.id) + created_seqs(events, other.id)) < 2:
        events += rpc.take_response().events
    rpc.cancel()
    assert {e.room_id for e in events if e.HasField("message_created")} == {room.id, other.id}


def test_server_shutdown_ends_streams_unavailable(chat: ChatHarness, bob: Caller, room: pb.Room) -> None:
    """Closing the hub (what serve() does on SIGTERM) ends an open stream with UNAVAILABLE."""
    rpc = chat.open_stream(bob, pb.StreamEventsRequest())
    read_until_caught_up(rpc)
    chat.harness.loop.call_soon_threadsafe(chat.hub.close)
    _, code, details = rpc.termination()
    assert code == Code.UNAVAILABLE
    assert "reconnect" in details


def test_slow_reader_is_aborted(make_chat: Callable[..., ChatHarness]) -> None:
    """A stream that falls more than stream_queue_events behind ends with ABORTED."""
    chat = make_chat(stream_queue_events=10)
    alice = chat.user(ALICE)
    room = alice.create_room("firehose")

    def flood() -> None:
        for _ in range(15):
            chat.hub.publish([pb.Event(room_id=room.id, typing=pb.Typing(user_id=ALICE))])

    rpc = chat.open_stream(alice, pb.StreamEventsRequest())
    read_until_caught_up(rpc)
    chat.harness.loop.call_soon_threadsafe(flood)
    _, code, details = rpc.termination()
    assert code == Code.ABORTED
    assert "resume" in details


def test_too_many_cursors_is_invalid(chat: ChatHarness, alice: Caller) -> None:
    """More than 10,000 cursors is INVALID_ARGUMENT."""
    request = pb.StreamEventsRequest(cursors=[pb.RoomCursor(room_id=i + 1) for i in range(10_001)])
    responses, code, _ = chat.stream(alice, request, take=1)
    assert (responses, code) == ([], Code.INVALID_ARGUMENT)


def _membership_changes_while_reading_rooms(
    chat: ChatHarness, monkeypatch: pytest.MonkeyPatch, change: Callable[[], object]
) -> None:
    """Make StreamEvents' read of the caller's rooms be followed at once by a committed membership change."""
    core = chat.servicer.chat.membership
    real = core.member_room_ids

    def racing(user_id: int) -> set[int]:
        rooms = real(user_id)
        change()  # commits and publishes after the read, before StreamEvents goes on
        return rooms

    monkeypatch.setattr(core, "member_room_ids", racing)


def test_invite_while_the_stream_starts_is_followed(
    chat: ChatHarness, alice: Caller, carol: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An invite committed just after StreamEvents read the caller's rooms still makes the stream follow the room."""
    private = alice.create_room("race", pb.ROOM_KIND_PRIVATE)
    invitations = chat.servicer.chat.invitations
    invitations.invite(ALICE, private.id, CAROL)
    _membership_changes_while_reading_rooms(chat, monkeypatch, lambda: invitations.accept(CAROL, private.id))
    rpc = chat.open_stream(carol, pb.StreamEventsRequest(), timeout=2)
    read_until_caught_up(rpc)
    sent = alice.send(private.id, "are you there?")
    events: list[pb.Event] = []
    while not created_seqs(events, private.id):
        events += rpc.take_response().events
    rpc.cancel()
    assert [e.message_created for e in events if e.HasField("message_created")] == [sent]


def test_leave_while_the_stream_starts_is_honoured(
    chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A leave committed just after StreamEvents read the caller's rooms stops that room's events."""
    core = chat.servicer.chat.membership
    _membership_changes_while_reading_rooms(chat, monkeypatch, lambda: core.leave(BOB, room.id))
    other = bob.create_room("still mine")
    rpc = chat.open_stream(bob, pb.StreamEventsRequest(), timeout=2)
    read_until_caught_up(rpc)
    alice.send(room.id, "bob has left")
    marker = bob.send(other.id, "marker")
    events: list[pb.Event] = []
    while not created_seqs(events, other.id):
        events += rpc.take_response().events
    rpc.cancel()
    assert [e.message_created for e in events if e.HasField("message_created")] == [marker]
