"""Rooms and membership through ChatServicer (grpcio-testing, SQLite)."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from chat_svc.tests.helpers import ALICE, BOB, CAROL, DAVE, UNKNOWN_USER, Caller, ChatHarness
from parley.chat.v1 import chat_pb2 as pb

Code = grpc.StatusCode


def _member_ids(caller: Caller, room_id: int) -> list[int]:
    response = caller.ok("ListMembers", pb.ListMembersRequest(room_id=room_id))
    return [m.user_id for m in response.members]


def _my_room_ids(caller: Caller) -> set[int]:
    return {r.room.id for r in caller.ok("ListMyRooms", pb.ListMyRoomsRequest()).rooms}


# -- CreateRoom -----------------------------------------------------------------------------------


def test_create_public_room_makes_caller_owner(alice: Caller) -> None:
    """A new public channel has the caller as its only member, with the owner role."""
    room = alice.create_room("general", pb.ROOM_KIND_PUBLIC)
    assert (room.kind, room.name, room.created_by, room.member_count) == (pb.ROOM_KIND_PUBLIC, "general", ALICE, 1)
    assert (room.last_seq, room.last_change) == (0, 0)
    assert alice.my_room(room.id).role == pb.MEMBER_ROLE_OWNER


def test_create_private_room_with_members(alice: Caller, bob: Caller) -> None:
    """A private room created with member_ids counts them and gives them the member role."""
    room = alice.create_room("secret", pb.ROOM_KIND_PRIVATE, members=[BOB, CAROL])
    assert room.kind == pb.ROOM_KIND_PRIVATE
    assert room.member_count == 3
    assert bob.my_room(room.id).role == pb.MEMBER_ROLE_MEMBER
    assert _member_ids(alice, room.id) == [ALICE, BOB, CAROL]


def test_create_room_ignores_the_caller_and_duplicates_in_member_ids(alice: Caller) -> None:
    """Listing yourself or someone twice in member_ids does not inflate member_count."""
    room = alice.create_room("dups", pb.ROOM_KIND_PRIVATE, members=[ALICE, BOB, BOB])
    assert room.member_count == 2


def test_create_room_trims_the_name(alice: Caller) -> None:
    """Surrounding whitespace is not part of the stored name."""
    assert alice.create_room("  lobby  ").name == "lobby"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("", pb.ROOM_KIND_PUBLIC),
        ("   ", pb.ROOM_KIND_PUBLIC),
        ("x" * 81, pb.ROOM_KIND_PRIVATE),
        ("bell\x07", pb.ROOM_KIND_PUBLIC),
        ("dm", pb.ROOM_KIND_DIRECT),
        ("unspecified", pb.ROOM_KIND_UNSPECIFIED),
    ],
    ids=["empty", "blank", "81-chars", "control-char", "direct", "unspecified"],
)
def test_create_room_rejects_bad_input(chat: ChatHarness, alice: Caller, name: str, kind: int) -> None:
    """Bad names and kinds other than PUBLIC/PRIVATE are INVALID_ARGUMENT, and no room is made."""
    code = alice.code("CreateRoom", pb.CreateRoomRequest(kind=kind, name=name))  # type: ignore[arg-type]
    assert code == Code.INVALID_ARGUMENT
    assert _my_room_ids(alice) == set()


def test_create_room_accepts_an_80_character_name(alice: Caller) -> None:
    """80 characters is the longest name allowed."""
    assert len(alice.create_room("n" * 80).name) == 80


def test_create_room_with_unknown_invitee_is_not_found(chat: ChatHarness, alice: Caller) -> None:
    """A member id the user directory does not know is NOT_FOUND and creates nothing."""
    request = pb.CreateRoomRequest(kind=pb.ROOM_KIND_PRIVATE, name="x", member_ids=[BOB, UNKNOWN_USER])
    _, code, details = alice.call("CreateRoom", request)
    assert code == Code.NOT_FOUND
    assert str(UNKNOWN_USER) in details
    assert _my_room_ids(alice) == set()


def test_create_room_with_too_many_members_is_invalid_without_asking_the_directory(
    chat: ChatHarness, alice: Caller
) -> None:
    """More than 100 other members is INVALID_ARGUMENT, decided before any call to auth_svc."""
    request = pb.CreateRoomRequest(kind=pb.ROOM_KIND_PUBLIC, name="crowd", member_ids=range(2, 103))
    _, code, details = alice.call("CreateRoom", request)
    assert code == Code.INVALID_ARGUMENT
    assert "100" in details
    assert chat.directory.calls == []


def test_create_room_with_exactly_100_members(make_chat: Callable[..., ChatHarness]) -> None:
    """100 other members is allowed."""
    chat = make_chat()
    chat.directory.known = frozenset(range(1, 200))
    room = chat.user(ALICE).create_room("crowd", members=range(2, 102))
    assert room.member_count == 101


def test_create_room_asks_the_directory_about_others_only(chat: ChatHarness, alice: Caller) -> None:
    """The directory is asked about the invitees, not about the caller."""
    alice.create_room("x", pb.ROOM_KIND_PRIVATE, members=[ALICE, BOB])
    assert chat.directory.calls == [[BOB]]


# -- direct rooms ---------------------------------------------------------------------------------


def test_open_direct_room_creates_then_returns_the_same_room(alice: Caller, bob: Caller) -> None:
    """The first OpenDirectRoom creates the DM; later calls from either side return the same one."""
    first = alice.ok("OpenDirectRoom", pb.OpenDirectRoomRequest(user_id=BOB))
    again = alice.ok("OpenDirectRoom", pb.OpenDirectRoomRequest(user_id=BOB))
    other_side = bob.ok("OpenDirectRoom", pb.OpenDirectRoomRequest(user_id=ALICE))
    assert (first.created, again.created, other_side.created) == (True, False, False)
    assert first.room.id == again.room.id == other_side.room.id


def test_direct_room_lists_both_users_ascending(alice: Caller, bob: Caller) -> None:
    """A DM is kind DIRECT with direct_user_ids in ascending order, and two members once both opened it."""
    room = bob.direct(alice)
    assert room.kind == pb.ROOM_KIND_DIRECT
    assert list(room.direct_user_ids) == [ALICE, BOB]
    assert room.member_count == 2


def test_direct_rooms_are_per_pair(alice: Caller) -> None:
    """Alice's DM with Bob is not her DM with Carol."""
    with_bob = alice.ok("OpenDirectRoom", pb.OpenDirectRoomRequest(user_id=BOB)).room
    with_carol = alice.ok("OpenDirectRoom", pb.OpenDirectRoomRequest(user_id=CAROL)).room
    assert with_bob.id != with_carol.id


@pytest.mark.parametrize("other", [ALICE, 0, -5], ids=["self", "zero", "negative"])
def test_open_direct_room_with_self_or_bad_id_is_invalid(alice: Caller, other: int) -> None:
    """A DM with yourself, or with a non-positive id, is INVALID_ARGUMENT."""
    assert alice.code("OpenDirectRoom", pb.OpenDirectRoomRequest(user_id=other)) == Code.INVALID_ARGUMENT


def test_open_direct_room_with_unknown_user_is_not_found(alice: Caller) -> None:
    """A DM with a user the directory does not know is NOT_FOUND."""
    assert alice.code("OpenDirectRoom", pb.OpenDirectRoomRequest(user_id=UNKNOWN_USER)) == Code.NOT_FOUND


def test_direct_room_cannot_be_left(alice: Caller) -> None:
    """LeaveRoom on a DM is FAILED_PRECONDITION and the membership stays."""
    room = alice.ok("OpenDirectRoom", pb.OpenDirectRoomRequest(user_id=BOB)).room
    assert alice.code("LeaveRoom", pb.LeaveRoomRequest(room_id=room.id)) == Code.FAILED_PRECONDITION
    assert room.id in _my_room_ids(alice)


def test_nobody_can_be_invited_into_a_direct_room(alice: Caller, carol: Caller) -> None:
    """InviteMember into a DM is FAILED_PRECONDITION and the invitee gets no access."""
    room = alice.ok("OpenDirectRoom", pb.OpenDirectRoomRequest(user_id=BOB)).room
    code = alice.code("InviteMember", pb.InviteMemberRequest(room_id=room.id, user_id=CAROL))
    assert code == Code.FAILED_PRECONDITION
    assert carol.code("GetRoom", pb.GetRoomRequest(room_id=room.id)) == Code.PERMISSION_DENIED


def test_direct_room_cannot_be_joined_by_a_third_user(alice: Caller, carol: Caller) -> None:
    """JoinRoom on someone else's DM is PERMISSION_DENIED."""
    room = alice.ok("OpenDirectRoom", pb.OpenDirectRoomRequest(user_id=BOB)).room
    assert carol.code("JoinRoom", pb.JoinRoomRequest(room_id=room.id)) == Code.PERMISSION_DENIED


# -- join, leave, invite ---------------------------------------------------------------------------


def test_join_public_room(alice: Caller, bob: Caller) -> None:
    """Joining a public channel makes the caller a member and counts them."""
    room = alice.create_room("general")
    joined = bob.ok("JoinRoom", pb.JoinRoomRequest(room_id=room.id)).room
    assert joined.member_count == 2
    assert bob.my_room(room.id).role == pb.MEMBER_ROLE_MEMBER


def test_join_is_idempotent(alice: Caller, bob: Caller) -> None:
    """Joining twice keeps one membership and the same member_count."""
    room = alice.create_room("general")
    bob.ok("JoinRoom", pb.JoinRoomRequest(room_id=room.id))
    again = bob.ok("JoinRoom", pb.JoinRoomRequest(room_id=room.id)).room
    assert again.member_count == 2
    assert _member_ids(alice, room.id) == [ALICE, BOB]


def test_owner_joining_own_room_keeps_owner_role(alice: Caller) -> None:
    """JoinRoom by an existing member (the owner) changes nothing."""
    room = alice.create_room("general")
    alice.ok("JoinRoom", pb.JoinRoomRequest(room_id=room.id))
    assert alice.my_room(room.id).role == pb.MEMBER_ROLE_OWNER


def test_join_private_room_is_permission_denied(alice: Caller, bob: Caller) -> None:
    """A private room cannot be joined without an invitation."""
    room = alice.create_room("secret", pb.ROOM_KIND_PRIVATE)
    assert bob.code("JoinRoom", pb.JoinRoomRequest(room_id=room.id)) == Code.PERMISSION_DENIED
    assert alice.room(room.id).member_count == 1


@pytest.mark.parametrize("method", ["JoinRoom", "GetRoom", "LeaveRoom"])
def test_unknown_room_is_not_found(alice: Caller, method: str) -> None:
    """Room calls on a room id that does not exist are NOT_FOUND."""
    request = getattr(pb, f"{method}Request")(room_id=4242)
    assert alice.code(method, request) == Code.NOT_FOUND


@pytest.mark.parametrize("room_id", [0, -1])
def test_non_positive_room_id_is_invalid(alice: Caller, room_id: int) -> None:
    """A room id below 1 is INVALID_ARGUMENT."""
    assert alice.code("GetRoom", pb.GetRoomRequest(room_id=room_id)) == Code.INVALID_ARGUMENT


def test_leave_ends_membership(alice: Caller, bob: Caller) -> None:
    """After LeaveRoom the caller is no longer a member and member_count drops."""
    room = alice.create_room("general")
    bob.ok("JoinRoom", pb.JoinRoomRequest(room_id=room.id))
    bob.ok("LeaveRoom", pb.LeaveRoomRequest(room_id=room.id))
    assert room.id not in _my_room_ids(bob)
    assert alice.room(room.id).member_count == 1
    assert bob.code("SendMessage", pb.SendMessageRequest(room_id=room.id, client_msg_id="a", body="hi")) == (
        Code.PERMISSION_DENIED
    )


def test_leave_when_not_a_member_is_fine(alice: Caller, bob: Caller) -> None:
    """Leaving a room you are not in succeeds and changes nothing."""
    room = alice.create_room("general")
    bob.ok("LeaveRoom", pb.LeaveRoomRequest(room_id=room.id))
    assert alice.room(room.id).member_count == 1


def test_leaving_private_room_loses_access(alice: Caller, bob: Caller) -> None:
    """A member who leaves a private room can no longer see it."""
    room = alice.create_room("secret", pb.ROOM_KIND_PRIVATE, members=[BOB])
    bob.ok("LeaveRoom", pb.LeaveRoomRequest(room_id=room.id))
    assert bob.code("GetRoom", pb.GetRoomRequest(room_id=room.id)) == Code.PERMISSION_DENIED


def test_invite_is_pending_once(alice: Caller, bob: Caller) -> None:
    """InviteMember sends one pending invitation (inviting again answers the same one); Bob is no member yet."""
    room = alice.create_room("secret", pb.ROOM_KIND_PRIVATE)
    first = alice.ok("InviteMember", pb.InviteMemberRequest(room_id=room.id, user_id=BOB)).invitation
    again = alice.ok("InviteMember", pb.InviteMemberRequest(room_id=room.id, user_id=BOB)).invitation
    assert (first.user_id, first.inviter_id, first.room.id) == (BOB, ALICE, room.id)
    assert again.created_at == first.created_at
    assert alice.room(room.id).member_count == 1
    assert bob.code("GetRoom", pb.GetRoomRequest(room_id=room.id)) == Code.PERMISSION_DENIED


def test_inviting_a_member_says_so(alice: Caller, bob: Caller) -> None:
    """InviteMember of someone who is a member already answers already_member and sends nothing."""
    room = alice.create_room("secret", pb.ROOM_KIND_PRIVATE, members=[BOB])
    answer = alice.ok("InviteMember", pb.InviteMemberRequest(room_id=room.id, user_id=BOB))
    assert answer.already_member and not answer.HasField("invitation")


def test_invite_by_non_member_is_permission_denied(alice: Caller, carol: Caller) -> None:
    """Only members may invite into a room."""
    room = alice.create_room("secret", pb.ROOM_KIND_PRIVATE)
    code = carol.code("InviteMember", pb.InviteMemberRequest(room_id=room.id, user_id=DAVE))
    assert code == Code.PERMISSION_DENIED
    assert _member_ids(alice, room.id) == [ALICE]


def test_invite_unknown_user_is_not_found(alice: Caller) -> None:
    """Inviting a user the directory does not know is NOT_FOUND."""
    room = alice.create_room("secret", pb.ROOM_KIND_PRIVATE)
    code = alice.code("InviteMember", pb.InviteMemberRequest(room_id=room.id, user_id=UNKNOWN_USER))
    assert code == Code.NOT_FOUND
    assert _member_ids(alice, room.id) == [ALICE]


# -- visibility and listing -------------------------------------------------------------------------


def test_public_room_is_visible_to_non_members(alice: Caller, bob: Caller) -> None:
    """GetRoom and ListMembers work on a public channel the caller has not joined."""
    room = alice.create_room("general")
    assert bob.room(room.id).name == "general"
    assert _member_ids(bob, room.id) == [ALICE]


def test_private_room_is_hidden_from_non_members(alice: Caller, bob: Caller) -> None:
    """GetRoom and ListMembers on a private room are PERMISSION_DENIED for outsiders."""
    room = alice.create_room("secret", pb.ROOM_KIND_PRIVATE)
    assert bob.code("GetRoom", pb.GetRoomRequest(room_id=room.id)) == Code.PERMISSION_DENIED
    assert bob.code("ListMembers", pb.ListMembersRequest(room_id=room.id)) == Code.PERMISSION_DENIED


def test_list_members_pages_by_user_id(alice: Caller) -> None:
    """ListMembers walks members by ascending user id with has_more."""
    room = alice.create_room("big", pb.ROOM_KIND_PRIVATE, members=range(2, 8))
    first = alice.ok("ListMembers", pb.ListMembersRequest(room_id=room.id, limit=4))
    rest = alice.ok("ListMembers", pb.ListMembersRequest(room_id=room.id, limit=4, after_user_id=4))
    assert ([m.user_id for m in first.members], first.has_more) == ([1, 2, 3, 4], True)
    assert ([m.user_id for m in rest.members], rest.has_more) == ([5, 6, 7], False)


def test_list_public_rooms_filters_by_name_case_insensitively(alice: Caller, bob: Caller) -> None:
    """ListPublicRooms finds channels by substring of the name, any case, and never private rooms."""
    alice.create_room("Python Users")
    alice.create_room("rust")
    alice.create_room("python-private", pb.ROOM_KIND_PRIVATE)
    found = bob.ok("ListPublicRooms", pb.ListPublicRoomsRequest(query="PYTHON"))
    assert [r.name for r in found.rooms] == ["Python Users"]


def test_list_public_rooms_treats_wildcards_literally(alice: Caller, bob: Caller) -> None:
    """% and _ in the query match themselves, not any character."""
    alice.create_room("100% fun")
    alice.create_room("a_b")
    alice.create_room("axb")
    assert [r.name for r in bob.ok("ListPublicRooms", pb.ListPublicRoomsRequest(query="a_b")).rooms] == ["a_b"]
    assert [r.name for r in bob.ok("ListPublicRooms", pb.ListPublicRoomsRequest(query="0%")).rooms] == ["100% fun"]


def test_list_public_rooms_pages_by_id(alice: Caller) -> None:
    """ListPublicRooms pages with after_room_id and has_more."""
    ids = [alice.create_room(f"room {i}").id for i in range(5)]
    first = alice.ok("ListPublicRooms", pb.ListPublicRoomsRequest(limit=3))
    rest = alice.ok("ListPublicRooms", pb.ListPublicRoomsRequest(limit=3, after_room_id=first.rooms[-1].id))
    assert ([r.id for r in first.rooms], first.has_more) == (ids[:3], True)
    assert ([r.id for r in rest.rooms], rest.has_more) == (ids[3:], False)


def test_list_my_rooms_carries_each_rooms_last_activity(alice: Caller) -> None:
    """ListMyRooms' rooms say when their newest message came (unset before any), for clients to order by."""
    room = alice.create_room("older")
    assert not alice.my_room(room.id).room.HasField("last_message_at")
    sent = alice.send(room.id)
    assert alice.my_room(room.id).room.last_message_at == sent.created_at
