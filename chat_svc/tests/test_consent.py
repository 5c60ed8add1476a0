"""Consent: invitations pending until accepted, declines that stick, blocks, the room cap, ListMyRooms pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from grpc import StatusCode as Code

from chat_svc.tests.helpers import ALICE, BOB, CAROL, DAVE, Caller, ChatHarness, read_until_caught_up
from parley.chat.v1 import chat_pb2 as pb


def _invitations(caller: Caller) -> list[pb.Invitation]:
    return list(caller.ok("ListInvitations", pb.ListInvitationsRequest()).invitations)


def _my_room_ids(caller: Caller) -> set[int]:
    return {r.room.id for r in caller.ok("ListMyRooms", pb.ListMyRoomsRequest(limit=500)).rooms}


def _create(caller: Caller, name: str, members: list[int], kind: int = pb.ROOM_KIND_PRIVATE) -> pb.Room:
    """CreateRoom as a client sends it: nobody accepts."""
    request = pb.CreateRoomRequest(kind=kind, name=name, member_ids=members)  # type: ignore[arg-type]
    return caller.ok("CreateRoom", request).room


def _invite(caller: Caller, room_id: int, user_id: int) -> tuple[pb.InviteMemberResponse, Code, str]:
    response, code, details = caller.call("InviteMember", pb.InviteMemberRequest(room_id=room_id, user_id=user_id))
    return response, code, details


# -- invitations -------------------------------------------------------------------------------------


def test_create_room_invites_its_members_instead_of_adding_them(alice: Caller, bob: Caller) -> None:
    """CreateRoom with member_ids leaves them outside, each with a pending invitation naming the inviter."""
    room = _create(alice, "secret", [BOB])
    assert room.member_count == 1
    assert room.id not in _my_room_ids(bob)
    assert bob.code("ListMessages", pb.ListMessagesRequest(room_id=room.id)) == Code.PERMISSION_DENIED
    [invitation] = _invitations(bob)
    assert (invitation.room.id, invitation.room.name, invitation.inviter_id) == (room.id, "secret", ALICE)


def test_accepting_makes_a_member_named_as_invited(chat: ChatHarness, alice: Caller, bob: Caller) -> None:
    """AcceptInvitation makes the invitee a member; member_joined names the inviter; the invitation is gone."""
    room = _create(alice, "secret", [BOB])
    rpc = chat.open_stream(alice, pb.StreamEventsRequest())
    read_until_caught_up(rpc)
    joined = bob.ok("AcceptInvitation", pb.AcceptInvitationRequest(room_id=room.id)).room
    [event] = rpc.take_response().events
    rpc.cancel()
    assert (event.member_joined.user_id, event.member_joined.by_user_id) == (BOB, ALICE)
    assert joined.member_count == 2
    assert room.id in _my_room_ids(bob)
    assert _invitations(bob) == []


def test_accepting_without_an_invitation_is_not_found(alice: Caller, carol: Caller) -> None:
    """AcceptInvitation of a room one was not invited to is NOT_FOUND and joins nothing."""
    room = _create(alice, "secret", [BOB])
    assert carol.code("AcceptInvitation", pb.AcceptInvitationRequest(room_id=room.id)) == Code.NOT_FOUND
    assert alice.room(room.id).member_count == 1


def test_the_invitee_is_told_live_and_nobody_else(chat: ChatHarness, alice: Caller, bob: Caller, carol: Caller) -> None:
    """An invitation reaches the invitee's stream at once (invitation_changed, pending), not a third user's."""
    bob_rpc = chat.open_stream(bob, pb.StreamEventsRequest())
    carol_rpc = chat.open_stream(carol, pb.StreamEventsRequest(), timeout=0.5)
    read_until_caught_up(bob_rpc)
    read_until_caught_up(carol_rpc)
    room = _create(alice, "secret", [BOB])
    [event] = bob_rpc.take_response().events
    bob_rpc.cancel()
    assert event.room_id == room.id
    assert (event.invitation_changed.state, event.invitation_changed.invitation.inviter_id) == (
        pb.INVITATION_STATE_PENDING,
        ALICE,
    )
    with pytest.raises(Exception):  # noqa: B017 - the harness ends the call at its timeout, with nothing
        carol_rpc.take_response()
    carol_rpc.cancel()


def test_after_a_decline_nobody_can_invite_them_to_that_room(alice: Caller, bob: Caller, carol: Caller) -> None:
    """Once Bob declines, inviting him to that room again is FAILED_PRECONDITION, whoever asks."""
    room = alice.create_room("team", pb.ROOM_KIND_PRIVATE, members=[CAROL])
    _invite(alice, room.id, BOB)
    bob.ok("DeclineInvitation", pb.DeclineInvitationRequest(room_id=room.id))
    assert _invitations(bob) == []
    for inviter in (alice, carol):
        _, code, details = _invite(inviter, room.id, BOB)
        assert code == Code.FAILED_PRECONDITION
        assert "declined" in details
    assert _invitations(bob) == []


def test_joining_a_channel_oneself_undoes_a_decline(alice: Caller, bob: Caller) -> None:
    """A public channel stays open to join after a decline; leaving it then lets anyone invite Bob again."""
    room = _create(alice, "general", [BOB], kind=pb.ROOM_KIND_PUBLIC)
    bob.ok("DeclineInvitation", pb.DeclineInvitationRequest(room_id=room.id))
    bob.ok("JoinRoom", pb.JoinRoomRequest(room_id=room.id))
    bob.ok("LeaveRoom", pb.LeaveRoomRequest(room_id=room.id))
    response, code, _ = _invite(alice, room.id, BOB)
    assert code == Code.OK and response.invitation.user_id == BOB


def test_invitations_per_invitee_are_capped(make_chat: Callable[..., ChatHarness]) -> None:
    """Past CHAT_MAX_PENDING_INVITATIONS pending, another invitation is RESOURCE_EXHAUSTED and creates no room."""
    chat = make_chat(max_pending_invitations=3, max_invitations_per_inviter=2)
    for inviter, name in ((ALICE, "a1"), (ALICE, "a2"), (CAROL, "c1")):
        _create(chat.user(inviter), name, [BOB])
    request = pb.CreateRoomRequest(kind=pb.ROOM_KIND_PRIVATE, name="d1", member_ids=[BOB])
    _, code, details = chat.user(DAVE).call("CreateRoom", request)
    assert code == Code.RESOURCE_EXHAUSTED and "waiting for an answer" in details
    assert _my_room_ids(chat.user(DAVE)) == set()
    assert len(_invitations(chat.user(BOB))) == 3


def test_one_inviter_fills_only_a_few_places(make_chat: Callable[..., ChatHarness]) -> None:
    """One inviter has at most CHAT_MAX_INVITATIONS_PER_INVITER pending with one invitee; others still may invite."""
    chat = make_chat(max_pending_invitations=10, max_invitations_per_inviter=2)
    alice = chat.user(ALICE)
    rooms = [alice.create_room(f"r{i}", pb.ROOM_KIND_PRIVATE) for i in range(3)]
    assert [_invite(alice, r.id, BOB)[1] for r in rooms] == [Code.OK, Code.OK, Code.RESOURCE_EXHAUSTED]
    assert _invite(chat.user(CAROL), chat.user(CAROL).create_room("c").id, BOB)[1] == Code.OK


# -- direct conversations ----------------------------------------------------------------------------


def test_a_direct_conversation_is_a_request_until_the_other_accepts(alice: Caller, bob: Caller) -> None:
    """OpenDirectRoom makes the opener its member and invites the other; accepting joins them."""
    opened = alice.ok("OpenDirectRoom", pb.OpenDirectRoomRequest(user_id=BOB)).room
    assert opened.member_count == 1 and opened.id not in _my_room_ids(bob)
    alice.send(opened.id, "hello, it is Alice")
    [invitation] = _invitations(bob)
    assert (invitation.room.kind, invitation.inviter_id) == (pb.ROOM_KIND_DIRECT, ALICE)
    bob.ok("AcceptInvitation", pb.AcceptInvitationRequest(room_id=opened.id))
    assert [m.body for m in bob.history(opened.id).messages] == ["hello, it is Alice"]
    assert bob.room(opened.id).member_count == 2


# -- blocks ------------------------------------------------------------------------------------------


def test_a_blocked_user_cannot_open_a_conversation_or_invite(alice: Caller, bob: Caller) -> None:
    """After Bob blocks Alice, her OpenDirectRoom and InviteMember to him are PERMISSION_DENIED; his too."""
    bob.ok("BlockUser", pb.BlockUserRequest(user_id=ALICE))
    _, code, details = alice.call("OpenDirectRoom", pb.OpenDirectRoomRequest(user_id=BOB))
    assert code == Code.PERMISSION_DENIED and "does not accept" in details
    room = alice.create_room("team", pb.ROOM_KIND_PRIVATE)
    assert _invite(alice, room.id, BOB)[1] == Code.PERMISSION_DENIED
    _, code, details = bob.call("OpenDirectRoom", pb.OpenDirectRoomRequest(user_id=ALICE))
    assert code == Code.PERMISSION_DENIED and "you blocked" in details
    assert _invitations(bob) == [] and _my_room_ids(bob) == set()


def test_blocking_withdraws_their_pending_invitations(chat: ChatHarness, alice: Caller, bob: Caller) -> None:
    """Blocking Alice removes her pending invitations to Bob (withdrawn, live), leaving others' alone."""
    mine = _create(alice, "alice's", [BOB])
    theirs = _create(chat.user(CAROL), "carol's", [BOB])
    rpc = chat.open_stream(bob, pb.StreamEventsRequest())
    read_until_caught_up(rpc)
    bob.ok("BlockUser", pb.BlockUserRequest(user_id=ALICE))
    [event] = rpc.take_response().events
    rpc.cancel()
    assert (event.room_id, event.invitation_changed.state) == (mine.id, pb.INVITATION_STATE_WITHDRAWN)
    assert [i.room.id for i in _invitations(bob)] == [theirs.id]
    assert bob.code("AcceptInvitation", pb.AcceptInvitationRequest(room_id=mine.id)) == Code.NOT_FOUND


def test_shared_rooms_stay_after_a_block(alice: Caller, bob: Caller) -> None:
    """Blocking keeps both in the rooms they share: Alice still reads and sends there."""
    room = alice.create_room("team", pb.ROOM_KIND_PRIVATE, members=[BOB])
    bob.ok("BlockUser", pb.BlockUserRequest(user_id=ALICE))
    alice.send(room.id, "still here")
    assert room.id in _my_room_ids(bob) and room.id in _my_room_ids(alice)


def test_mentions_by_a_blocked_user_do_not_count(alice: Caller, bob: Caller) -> None:
    """An @mention of Bob by someone he blocked is not counted among his mentions."""
    room = alice.create_room("team", pb.ROOM_KIND_PRIVATE, members=[BOB, CAROL])
    bob.ok("BlockUser", pb.BlockUserRequest(user_id=ALICE))
    alice.send(room.id, "@bob look")
    assert bob.my_room(room.id).mention_count == 0
    bob.ok("UnblockUser", pb.UnblockUserRequest(user_id=ALICE))
    assert bob.my_room(room.id).mention_count == 1


def test_block_unblock_and_list(alice: Caller) -> None:
    """BlockUser is idempotent, ListBlockedUsers lists the most recent first, UnblockUser takes one off."""
    for user_id in (BOB, CAROL, BOB):
        alice.ok("BlockUser", pb.BlockUserRequest(user_id=user_id))
    listed = alice.ok("ListBlockedUsers", pb.ListBlockedUsersRequest()).users
    assert [u.user_id for u in listed] == [CAROL, BOB]
    alice.ok("UnblockUser", pb.UnblockUserRequest(user_id=CAROL))
    assert [u.user_id for u in alice.ok("ListBlockedUsers", pb.ListBlockedUsersRequest()).users] == [BOB]


@pytest.mark.parametrize("other", [ALICE, 0, -3], ids=["self", "zero", "negative"])
def test_blocking_oneself_or_a_bad_id_is_invalid(chat: ChatHarness, alice: Caller, other: int) -> None:
    """BlockUser of oneself or a non-positive id is INVALID_ARGUMENT, without asking the directory."""
    assert alice.code("BlockUser", pb.BlockUserRequest(user_id=other)) == Code.INVALID_ARGUMENT
    assert chat.directory.calls == []


# -- the room cap ------------------------------------------------------------------------------------


def test_no_room_past_the_cap(make_chat: Callable[..., ChatHarness]) -> None:
    """At CHAT_MAX_ROOMS_PER_USER rooms, creating, joining and accepting are FAILED_PRECONDITION, saying why."""
    chat = make_chat(max_rooms_per_user=2)
    alice, bob = chat.user(ALICE), chat.user(BOB)
    channel = bob.create_room("open")
    invited = _create(bob, "invited", [ALICE])
    alice.create_room("one")
    alice.create_room("two")
    _, code, details = alice.call("CreateRoom", pb.CreateRoomRequest(kind=pb.ROOM_KIND_PUBLIC, name="three"))
    assert code == Code.FAILED_PRECONDITION and "leave a room first" in details
    assert alice.code("JoinRoom", pb.JoinRoomRequest(room_id=channel.id)) == Code.FAILED_PRECONDITION
    assert alice.code("AcceptInvitation", pb.AcceptInvitationRequest(room_id=invited.id)) == Code.FAILED_PRECONDITION
    assert len(_my_room_ids(alice)) == 2
    assert [i.room.id for i in _invitations(alice)] == [invited.id]  # still there for when she has room


# -- ListMyRooms pages -------------------------------------------------------------------------------


def test_list_my_rooms_pages_are_complete_and_disjoint(alice: Caller) -> None:
    """ListMyRooms walks every room once by ascending id, even while rooms get busy between pages."""
    ids = [alice.create_room(f"room {i}").id for i in range(7)]
    seen: list[int] = []
    after, more = 0, True
    while more:
        page = alice.ok("ListMyRooms", pb.ListMyRoomsRequest(after_room_id=after, limit=3))
        seen += [r.room.id for r in page.rooms]
        more, after = page.has_more, page.rooms[-1].room.id
        alice.send(ids[-1])  # the busiest room does not jump ahead of the cursor
    assert seen == ids


def test_list_my_rooms_page_size_is_bounded(alice: Caller) -> None:
    """A ListMyRooms limit above 500 is INVALID_ARGUMENT."""
    assert alice.code("ListMyRooms", pb.ListMyRoomsRequest(limit=501)) == Code.INVALID_ARGUMENT
