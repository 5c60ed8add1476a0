"""Reactions through ChatServicer: add, remove, idempotent answers, the cap, the emoji rule (grpcio-testing)."""

from __future__ import annotations

import grpc
import pytest

from chat_svc.tests.helpers import ALICE, BOB, CAROL, Caller, ChatHarness, read_until_caught_up
from common.limits import REACTION_EMOJI_MAX, REACTION_USERS_SHOWN
from parley.chat.v1 import chat_pb2 as pb

Code = grpc.StatusCode
# REACTION_EMOJI_MAX + 1 distinct single emoji.
EMOJI = [chr(0x1F600 + i) for i in range(REACTION_EMOJI_MAX + 1)]


@pytest.fixture
def room(alice: Caller) -> pb.Room:
    """A private room of Alice (owner), Bob and Carol."""
    return alice.create_room("team", pb.ROOM_KIND_PRIVATE, members=[BOB, CAROL])


def react(caller: Caller, room_id: int, seq: int, emoji: str = "👍", add: bool = True) -> pb.ReactResponse:
    """A React call that must succeed."""
    response: pb.ReactResponse = caller.ok("React", pb.ReactRequest(room_id=room_id, seq=seq, emoji=emoji, add=add))
    return response


def react_code(caller: Caller, room_id: int, seq: int, emoji: str = "👍", add: bool = True) -> grpc.StatusCode:
    """The status of a React call."""
    return caller.code("React", pb.ReactRequest(room_id=room_id, seq=seq, emoji=emoji, add=add))


def aggregate(message: pb.Message) -> list[tuple[str, int, list[int], bool]]:
    """A message's reactions as (emoji, count, user_ids, me)."""
    return [(r.emoji, r.count, list(r.user_ids), r.me) for r in message.reactions]


def test_adding_twice_counts_once(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """The same user adding the same emoji twice is one reaction."""
    seq = alice.send(room.id).seq
    react(bob, room.id, seq)
    react(bob, room.id, seq)
    assert aggregate(bob.history(room.id).messages[0]) == [("👍", 1, [BOB], True)]


def test_a_repeated_add_answers_unchanged_and_takes_no_change(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """Adding a reaction that is there answers changed=false and leaves the room's change number alone."""
    seq = alice.send(room.id).seq
    assert react(bob, room.id, seq).changed
    before = alice.room(room.id).last_change
    again = react(bob, room.id, seq)
    assert not again.changed
    assert alice.room(room.id).last_change == before


def test_removing_one_that_is_not_there_answers_unchanged(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """Removing a reaction the caller never made changes nothing and answers changed=false."""
    seq = alice.send(room.id).seq
    before = alice.room(room.id).last_change
    answer = react(bob, room.id, seq, add=False)
    assert (answer.changed, list(answer.message.reactions)) == (False, [])
    assert alice.room(room.id).last_change == before


def test_a_reaction_takes_the_next_change(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """A new reaction bumps the message's change to the room's next change number."""
    seq = alice.send(room.id).seq
    before = alice.room(room.id).last_change
    answer = react(bob, room.id, seq)
    assert answer.message.change == before + 1 == alice.room(room.id).last_change


def test_remove_takes_the_users_reaction_away(alice: Caller, bob: Caller, carol: Caller, room: pb.Room) -> None:
    """Removing a reaction lowers its count and drops the user; the last one removes the emoji."""
    seq = alice.send(room.id).seq
    react(bob, room.id, seq)
    react(carol, room.id, seq)
    assert aggregate(react(bob, room.id, seq, add=False).message) == [("👍", 1, [CAROL], False)]
    assert aggregate(react(carol, room.id, seq, add=False).message) == []


def test_me_is_set_for_the_asking_user_only(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """History sets `me` on the reactions the caller made and not on others'."""
    seq = alice.send(room.id).seq
    react(bob, room.id, seq, "👍")
    react(alice, room.id, seq, "🎉")
    assert aggregate(alice.history(room.id).messages[0]) == [("👍", 1, [BOB], False), ("🎉", 1, [ALICE], True)]


def test_emoji_keep_the_order_of_first_use(alice: Caller, bob: Caller, carol: Caller, room: pb.Room) -> None:
    """Emoji are listed in the order each was first used, users in the order they reacted."""
    seq = alice.send(room.id).seq
    react(bob, room.id, seq, "🎉")
    react(alice, room.id, seq, "👍")
    react(carol, room.id, seq, "🎉")
    assert [(e, n, u) for e, n, u, _ in aggregate(alice.history(room.id).messages[0])] == [
        ("🎉", 2, [BOB, CAROL]),
        ("👍", 1, [ALICE]),
    ]


def test_removing_a_shown_user_refills_from_the_reactors(chat: ChatHarness, alice: Caller, room: pb.Room) -> None:
    """When a shown user removes their reaction, the next reactor in order takes the last place."""
    reactors = list(range(1, REACTION_USERS_SHOWN + 3))
    chat.directory.known = frozenset(reactors)
    for user_id in reactors[1:]:
        alice.invite(room.id, user_id)
    seq = alice.send(room.id).seq
    for user_id in reactors:
        react(chat.user(user_id), room.id, seq)
    [reaction] = react(chat.user(reactors[0]), room.id, seq, add=False).message.reactions
    assert reaction.count == len(reactors) - 1
    assert list(reaction.user_ids) == reactors[1 : REACTION_USERS_SHOWN + 1]


def test_a_new_emoji_past_the_cap_is_resource_exhausted(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """The 21st distinct emoji on a message is RESOURCE_EXHAUSTED and nothing changes."""
    seq = alice.send(room.id).seq
    for emoji in EMOJI[:REACTION_EMOJI_MAX]:
        react(alice, room.id, seq, emoji)
    before = alice.room(room.id).last_change
    assert react_code(bob, room.id, seq, EMOJI[REACTION_EMOJI_MAX]) == Code.RESOURCE_EXHAUSTED
    assert len(alice.history(room.id).messages[0].reactions) == REACTION_EMOJI_MAX
    assert alice.room(room.id).last_change == before


def test_joining_an_existing_emoji_past_the_cap_is_allowed(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """At the cap, another user may still add an emoji the message already has."""
    seq = alice.send(room.id).seq
    for emoji in EMOJI[:REACTION_EMOJI_MAX]:
        react(alice, room.id, seq, emoji)
    assert react(bob, room.id, seq, EMOJI[0]).message.reactions[0].count == 2


@pytest.mark.parametrize(
    "emoji",
    ["", "a", "ok", "👍👍", "👍 ", ":thumbsup:", "1", "\u200d", "👍" + "\U0001f3fd" * 16],
    ids=["empty", "letter", "text", "two-emoji", "trailing-space", "shortcode", "digit", "zwj-alone", "too-long"],
)
def test_anything_but_one_emoji_is_invalid(alice: Caller, room: pb.Room, emoji: str) -> None:
    """A reaction that is not exactly one emoji is INVALID_ARGUMENT ("... is not an emoji") and stores nothing."""
    seq = alice.send(room.id).seq
    _, code, details = alice.call("React", pb.ReactRequest(room_id=room.id, seq=seq, emoji=emoji, add=True))
    assert code == Code.INVALID_ARGUMENT
    assert "is not an emoji" in details
    assert list(alice.history(room.id).messages[0].reactions) == []


@pytest.mark.parametrize(
    "emoji", ["👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "🏳️‍🌈"], ids=["skin-tone", "zwj", "flag", "vs16", "zwj-flag"]
)
def test_one_emoji_of_several_code_points_is_accepted(alice: Caller, room: pb.Room, emoji: str) -> None:
    """Skin tones, ZWJ sequences, flags and variation selectors make one emoji."""
    seq = alice.send(room.id).seq
    assert aggregate(react(alice, room.id, seq, emoji).message) == [(emoji, 1, [ALICE], True)]


def test_a_tombstone_takes_no_reaction(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """Reacting to a deleted message is FAILED_PRECONDITION."""
    seq = alice.send(room.id).seq
    alice.ok("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=seq))
    assert react_code(bob, room.id, seq) == Code.FAILED_PRECONDITION


def test_deleting_a_message_drops_its_reactions(alice: Caller, bob: Caller, room: pb.Room) -> None:
    """A tombstone carries no reactions."""
    seq = alice.send(room.id).seq
    react(bob, room.id, seq)
    alice.ok("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=seq))
    assert list(bob.history(room.id).messages[0].reactions) == []


def test_a_missing_seq_is_not_found(alice: Caller, room: pb.Room) -> None:
    """Reacting to a seq the room does not have is NOT_FOUND."""
    alice.send(room.id)
    assert react_code(alice, room.id, 99) == Code.NOT_FOUND


def test_a_non_member_may_not_react(alice: Caller, room: pb.Room, chat: ChatHarness) -> None:
    """A user outside the room gets PERMISSION_DENIED and the message keeps no reaction."""
    seq = alice.send(room.id).seq
    assert react_code(chat.user(7), room.id, seq) == Code.PERMISSION_DENIED
    assert list(alice.history(room.id).messages[0].reactions) == []


def test_a_reaction_is_published_with_who_and_what(
    chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room
) -> None:
    """Members' streams get reaction_changed with the user, the emoji, added and the aggregate without `me`."""
    seq = alice.send(room.id).seq
    rpc = chat.open_stream(alice, pb.StreamEventsRequest())
    read_until_caught_up(rpc)
    answer = react(bob, room.id, seq, "🎉")
    [event] = rpc.take_response().events
    rpc.cancel()
    changed = event.reaction_changed
    assert (changed.seq, changed.change, changed.user_id, changed.emoji, changed.added) == (
        seq,
        answer.message.change,
        BOB,
        "🎉",
        True,
    )
    assert [(r.emoji, r.count, list(r.user_ids), r.me) for r in changed.reactions] == [("🎉", 1, [BOB], False)]


def test_an_unchanged_reaction_publishes_nothing(chat: ChatHarness, alice: Caller, bob: Caller, room: pb.Room) -> None:
    """A repeated add sends no event; the next real change is the next event."""
    seq = alice.send(room.id).seq
    react(bob, room.id, seq)
    rpc = chat.open_stream(alice, pb.StreamEventsRequest())
    read_until_caught_up(rpc)
    react(bob, room.id, seq)
    alice.ok("SendTyping", pb.SendTypingRequest(room_id=room.id))
    [event] = rpc.take_response().events
    rpc.cancel()
    assert event.WhichOneof("kind") == "typing"


def test_an_edit_answer_keeps_the_editors_me(alice: Caller, room: pb.Room) -> None:
    """EditMessage answers the message with `me` set on the editor's own reactions."""
    seq = alice.send(room.id).seq
    react(alice, room.id, seq)
    edited = alice.ok("EditMessage", pb.EditMessageRequest(room_id=room.id, seq=seq, body="edited")).message
    assert aggregate(edited) == [("👍", 1, [ALICE], True)]
