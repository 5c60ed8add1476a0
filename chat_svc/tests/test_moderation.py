"""Room settings, roles, removals and moderators' deletes through ChatServicer: the table of docs/conversations.md."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from chat_svc.tests.helpers import ALICE, BOB, CAROL, DAVE, Caller, ChatHarness, read_until_caught_up
from parley.chat.v1 import chat_pb2 as pb

Code = grpc.StatusCode
OWNER, MODERATOR, MEMBER = pb.MEMBER_ROLE_OWNER, pb.MEMBER_ROLE_MODERATOR, pb.MEMBER_ROLE_MEMBER
WHO = {"owner": ALICE, "moderator": BOB, "member": CAROL, "other member": DAVE}


@pytest.fixture
def room(chat: ChatHarness, alice: Caller) -> pb.Room:
    """A private room: Alice owns it, Bob is a moderator, Carol and Dave are plain members."""
    created = alice.create_room("team", pb.ROOM_KIND_PRIVATE, members=[BOB, CAROL, DAVE])
    alice.ok("SetMemberRole", pb.SetMemberRoleRequest(room_id=created.id, user_id=BOB, role=MODERATOR))
    return created


def roles(chat: ChatHarness, room_id: int) -> dict[int, int]:
    """Each member's role."""
    members = chat.user(ALICE).ok("ListMembers", pb.ListMembersRequest(room_id=room_id)).members
    return {m.user_id: m.role for m in members}


# -- the table, row by row: who may, and who is refused ------------------------------------------------

UPDATES: list[dict[str, Any]] = [{"name": "renamed"}, {"topic": "new topic"}, {"room_mentions": True}]


@pytest.mark.parametrize("change", UPDATES, ids=["name", "topic", "room_mentions"])
@pytest.mark.parametrize(("who", "allowed"), [("owner", True), ("moderator", True), ("member", False)])
def test_who_may_update_the_room(
    chat: ChatHarness, room: pb.Room, who: str, allowed: bool, change: dict[str, Any]
) -> None:
    """Owner and moderators rename, set the topic and switch room_mentions; a member is PERMISSION_DENIED."""
    caller = chat.user(WHO[who])
    before = caller.room(room.id)
    response, code, _ = caller.call("UpdateRoom", pb.UpdateRoomRequest(room_id=room.id, **change))
    after = caller.room(room.id)
    if allowed:
        assert code == Code.OK
        [(field, value)] = change.items()
        assert getattr(after, field) == getattr(response.room, field) == value
    else:
        assert (code, after) == (Code.PERMISSION_DENIED, before)


REMOVALS = [
    ("owner", "moderator", True),
    ("owner", "member", True),
    ("moderator", "member", True),
    ("moderator", "owner", False),
    ("member", "other member", False),
    ("member", "moderator", False),
]


@pytest.mark.parametrize(("who", "whom", "allowed"), REMOVALS, ids=[f"{a}-removes-{b}" for a, b, _ in REMOVALS])
def test_who_may_remove_whom(chat: ChatHarness, room: pb.Room, who: str, whom: str, allowed: bool) -> None:
    """The owner removes anyone else, a moderator plain members, a member nobody."""
    target = WHO[whom]
    code = chat.user(WHO[who]).code("RemoveMember", pb.RemoveMemberRequest(room_id=room.id, user_id=target))
    assert code == (Code.OK if allowed else Code.PERMISSION_DENIED)
    assert (target in roles(chat, room.id)) is not allowed


def test_a_moderator_may_not_remove_another_moderator(chat: ChatHarness, alice: Caller, room: pb.Room) -> None:
    """A moderator removing a moderator is PERMISSION_DENIED."""
    alice.ok("SetMemberRole", pb.SetMemberRoleRequest(room_id=room.id, user_id=DAVE, role=MODERATOR))
    code = chat.user(BOB).code("RemoveMember", pb.RemoveMemberRequest(room_id=room.id, user_id=DAVE))
    assert code == Code.PERMISSION_DENIED


@pytest.mark.parametrize("who", ["owner", "moderator"])
def test_nobody_removes_themselves(chat: ChatHarness, room: pb.Room, who: str) -> None:
    """Removing oneself is INVALID_ARGUMENT (LeaveRoom is the way) and the member stays."""
    user = WHO[who]
    assert chat.user(user).code("RemoveMember", pb.RemoveMemberRequest(room_id=room.id, user_id=user)) == (
        Code.INVALID_ARGUMENT
    )
    assert user in roles(chat, room.id)


@pytest.mark.parametrize(("who", "allowed"), [("owner", True), ("moderator", True), ("member", False)])
def test_who_may_delete_someone_elses_message(chat: ChatHarness, room: pb.Room, who: str, allowed: bool) -> None:
    """Owner and moderators delete anyone's message, the tombstone naming them; a member is PERMISSION_DENIED."""
    dave = chat.user(DAVE)
    seq = dave.send(room.id, "by dave").seq
    response, code, _ = chat.user(WHO[who]).call("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=seq))
    stored = dave.history(room.id).messages[0]
    if allowed:
        assert code == Code.OK
        assert (stored.deleted, stored.deleted_by, response.message.deleted_by) == (True, WHO[who], WHO[who])
    else:
        assert (code, stored.deleted, stored.body) == (Code.PERMISSION_DENIED, False, "by dave")


def test_an_author_deleting_their_own_message_is_named(chat: ChatHarness, carol: Caller, room: pb.Room) -> None:
    """A plain member still deletes their own message; deleted_by is the author."""
    seq = carol.send(room.id, "mine").seq
    assert carol.ok("DeleteMessage", pb.DeleteMessageRequest(room_id=room.id, seq=seq)).message.deleted_by == CAROL


def test_a_moderator_may_not_edit_someone_elses_message(chat: ChatHarness, room: pb.Room) -> None:
    """Moderation covers deletes only: editing another's message stays the author's."""
    seq = chat.user(CAROL).send(room.id, "carol's").seq
    code = chat.user(BOB).code("EditMessage", pb.EditMessageRequest(room_id=room.id, seq=seq, body="bob's now"))
    assert code == Code.PERMISSION_DENIED


ROLE_CHANGES = [
    ("owner", "member", MODERATOR, True),
    ("owner", "moderator", MEMBER, True),
    ("moderator", "member", MODERATOR, False),
    ("member", "other member", MODERATOR, False),
    ("owner", "owner", MEMBER, False),
]


@pytest.mark.parametrize(
    ("who", "whom", "role", "allowed"), ROLE_CHANGES, ids=[f"{a}-sets-{b}" for a, b, _, _ in ROLE_CHANGES]
)
def test_who_may_change_roles(chat: ChatHarness, room: pb.Room, who: str, whom: str, role: int, allowed: bool) -> None:
    """Only the owner makes members moderators and back, and not their own role."""
    target = WHO[whom]
    before = roles(chat, room.id)[target]
    request = pb.SetMemberRoleRequest(room_id=room.id, user_id=target, role=role)  # type: ignore[arg-type]
    code = chat.user(WHO[who]).code("SetMemberRole", request)
    assert code == (Code.OK if allowed else Code.PERMISSION_DENIED)
    assert roles(chat, room.id)[target] == (role if allowed else before)


@pytest.mark.parametrize("who", ["owner", "moderator", "member"])
def test_every_member_may_react(chat: ChatHarness, room: pb.Room, who: str) -> None:
    """Reacting is every member's."""
    seq = chat.user(DAVE).send(room.id).seq
    assert chat.user(WHO[who]).ok("React", pb.ReactRequest(room_id=room.id, seq=seq, emoji="👍", add=True)).changed


# -- what every change does -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "request_"),
    [
        ("UpdateRoom", lambda r: pb.UpdateRoomRequest(room_id=r, name="x")),
        ("SetMemberRole", lambda r: pb.SetMemberRoleRequest(room_id=r, user_id=BOB, role=MODERATOR)),
        ("RemoveMember", lambda r: pb.RemoveMemberRequest(room_id=r, user_id=BOB)),
    ],
    ids=["UpdateRoom", "SetMemberRole", "RemoveMember"],
)
def test_a_direct_room_has_nothing_to_moderate(chat: ChatHarness, alice: Caller, method: str, request_: Any) -> None:
    """UpdateRoom, SetMemberRole and RemoveMember on a direct room are FAILED_PRECONDITION."""
    direct = alice.direct(chat.user(BOB))
    assert alice.code(method, request_(direct.id)) == Code.FAILED_PRECONDITION


@pytest.mark.parametrize(
    ("method", "request_"),
    [
        ("UpdateRoom", lambda r: pb.UpdateRoomRequest(room_id=r, name="x")),
        ("SetMemberRole", lambda r: pb.SetMemberRoleRequest(room_id=r, user_id=CAROL, role=MODERATOR)),
        ("RemoveMember", lambda r: pb.RemoveMemberRequest(room_id=r, user_id=CAROL)),
    ],
    ids=["UpdateRoom", "SetMemberRole", "RemoveMember"],
)
def test_a_non_member_is_refused(chat: ChatHarness, room: pb.Room, method: str, request_: Any) -> None:
    """Someone outside the room gets PERMISSION_DENIED ("not a member") and the room stays as it was."""
    before = chat.user(ALICE).room(room.id)
    _, code, details = chat.user(7).call(method, request_(room.id))
    assert (code, "not a member" in details) == (Code.PERMISSION_DENIED, True)
    assert chat.user(ALICE).room(room.id) == before


def test_only_moderator_and_member_roles_can_be_set(alice: Caller, room: pb.Room) -> None:
    """Setting the owner role (or none) is INVALID_ARGUMENT."""
    for role in (OWNER, pb.MEMBER_ROLE_UNSPECIFIED):
        request = pb.SetMemberRoleRequest(room_id=room.id, user_id=CAROL, role=role)
        assert alice.code("SetMemberRole", request) == Code.INVALID_ARGUMENT


def test_removing_someone_who_is_not_a_member_is_not_found(alice: Caller, room: pb.Room) -> None:
    """RemoveMember naming a user outside the room is NOT_FOUND."""
    assert alice.code("RemoveMember", pb.RemoveMemberRequest(room_id=room.id, user_id=8)) == Code.NOT_FOUND


@pytest.mark.parametrize(("name", "topic"), [("  ", None), ("x" * 81, None), (None, "t" * 251), ("a\x00b", None)])
def test_update_room_validates_like_create_room(
    alice: Caller, room: pb.Room, name: str | None, topic: str | None
) -> None:
    """A blank or too long name, a too long topic or a control character is INVALID_ARGUMENT; nothing changes."""
    request = pb.UpdateRoomRequest(room_id=room.id, name=name, topic=topic)
    assert alice.code("UpdateRoom", request) == Code.INVALID_ARGUMENT
    assert (alice.room(room.id).name, alice.room(room.id).topic) == ("team", "")


def test_update_room_changes_only_the_fields_given(alice: Caller, room: pb.Room) -> None:
    """A topic alone keeps the name; an empty topic clears it."""
    alice.ok("UpdateRoom", pb.UpdateRoomRequest(room_id=room.id, topic="plans"))
    assert (alice.room(room.id).name, alice.room(room.id).topic) == ("team", "plans")
    alice.ok("UpdateRoom", pb.UpdateRoomRequest(room_id=room.id, topic=""))
    assert alice.room(room.id).topic == ""


def test_an_update_takes_a_change_and_records_it(alice: Caller, room: pb.Room) -> None:
    """UpdateRoom takes the room's next change number and keeps it as settings_change."""
    before = alice.room(room.id).last_change
    updated = alice.ok("UpdateRoom", pb.UpdateRoomRequest(room_id=room.id, name="renamed")).room
    assert updated.settings_change == updated.last_change == before + 1


def test_an_update_to_what_holds_takes_no_change(alice: Caller, room: pb.Room) -> None:
    """Renaming a room to its name changes nothing, not even the change number."""
    before = alice.room(room.id)
    alice.ok("UpdateRoom", pb.UpdateRoomRequest(room_id=room.id, name="team"))
    assert alice.room(room.id) == before


def test_a_role_change_is_recorded_and_published(chat: ChatHarness, alice: Caller, room: pb.Room) -> None:
    """SetMemberRole sets role_change to the next change and members get role_changed with who did it."""
    rpc = chat.open_stream(chat.user(CAROL), pb.StreamEventsRequest())
    read_until_caught_up(rpc)
    before = alice.room(room.id).last_change
    member = alice.ok("SetMemberRole", pb.SetMemberRoleRequest(room_id=room.id, user_id=CAROL, role=MODERATOR)).member
    [event] = rpc.take_response().events
    rpc.cancel()
    assert (member.role, member.role_change) == (MODERATOR, before + 1)
    assert (event.role_changed.member, event.role_changed.by_user_id) == (member, ALICE)


def test_a_removal_is_published_and_ends_the_removed_users_feed(
    chat: ChatHarness, alice: Caller, room: pb.Room
) -> None:
    """Carol's stream gets member_left naming the remover, then none of the room's later events."""
    rpc = chat.open_stream(chat.user(CAROL), pb.StreamEventsRequest())
    read_until_caught_up(rpc)
    alice.ok("RemoveMember", pb.RemoveMemberRequest(room_id=room.id, user_id=CAROL))
    alice.send(room.id, "after carol")
    other = alice.create_room("next", pb.ROOM_KIND_PRIVATE, members=[CAROL])
    events = [e for e in rpc.take_response().events]
    while not any(e.room_id == other.id for e in events):
        events.extend(rpc.take_response().events)
    rpc.cancel()
    mine = [e for e in events if e.room_id == room.id]
    assert [(e.WhichOneof("kind"), e.member_left.user_id, e.member_left.by_user_id) for e in mine] == [
        ("member_left", CAROL, ALICE)
    ]


def test_a_removal_lowers_the_count_and_records_the_change(alice: Caller, room: pb.Room) -> None:
    """RemoveMember lowers member_count and sets settings_change to the change it took."""
    before = alice.room(room.id)
    alice.ok("RemoveMember", pb.RemoveMemberRequest(room_id=room.id, user_id=CAROL))
    after = alice.room(room.id)
    assert (after.member_count, after.settings_change) == (before.member_count - 1, before.last_change + 1)


def test_an_invitation_names_the_inviter(chat: ChatHarness, alice: Caller, room: pb.Room) -> None:
    """member_joined for a user who accepted an invitation carries by_user_id of who invited them."""
    rpc = chat.open_stream(alice, pb.StreamEventsRequest())
    read_until_caught_up(rpc)
    chat.user(BOB).invite(room.id, 5)
    [event] = rpc.take_response().events
    rpc.cancel()
    assert (event.member_joined.user_id, event.member_joined.by_user_id) == (5, BOB)
