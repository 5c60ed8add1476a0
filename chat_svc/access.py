"""Who may see and touch a room: lookups inside a caller's transaction, with one error per refusal.

An archived room (ModerationService.ArchiveRoom) is read-only: every write a member makes to it
asks `require_open` (the send path asks through repository.Known.archived, its batch's lookup).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chat_svc import rules
from chat_svc.domain import RoomKind
from chat_svc.models import Member, Room
from common.errors import FailedPrecondition, NotFound, PermissionDenied


def room(s: Session, room_id: int, lock: bool = False) -> Room:
    """The room's row, or NotFound.

    lock=True takes the row's write lock first (SELECT ... FOR UPDATE), as sends do with their
    UPDATE: membership writes then see the latest rows, and every writer locks in the same order,
    so replicas cannot deadlock on a shared lock taken through a foreign key.
    """
    found = s.get(Room, rules.room_id(room_id), with_for_update=lock or None)
    if found is None:
        raise NotFound(f"room {room_id} does not exist")
    return found


ROOM_ARCHIVED = "room_archived"  # ServiceError.reason of a write refused by an archived room


def archived(room_id: int) -> FailedPrecondition:
    """The refusal of a write to an archived room (the gateway answers it with 409 room_archived)."""
    return FailedPrecondition(
        f"room {room_id} is archived: it is read-only (its history stays readable)", reason=ROOM_ARCHIVED
    )


def require_open(found: Room) -> None:
    """FailedPrecondition when the room is archived: sends, edits, reactions, joins and invitations ask here."""
    if found.archived_at is not None:
        raise archived(found.id)


def not_member(room_id: int, kind: int) -> PermissionDenied:
    """The refusal of a non-member, saying how to get in."""
    hint = "join it first" if kind == RoomKind.PUBLIC else "ask a member to invite you"
    return PermissionDenied(f"you are not a member of room {room_id}; {hint}")


def membership(s: Session, found: Room, user_id: int) -> Member:
    """The user's membership row of the room, or PermissionDenied."""
    member = s.get(Member, (found.id, user_id))
    if member is None:
        raise not_member(found.id, found.kind)
    return member


def member_room(s: Session, room_id: int, user_id: int) -> tuple[Room, Member]:
    """A room the user belongs to, and the membership."""
    found = room(s, room_id)
    return found, membership(s, found, user_id)


def visible_room(s: Session, room_id: int, user_id: int) -> Room:
    """A room the user belongs to, or any public channel."""
    found = room(s, room_id)
    if found.kind != RoomKind.PUBLIC:
        membership(s, found, user_id)
    return found


def require_room_space(s: Session, user_id: int, max_rooms: int) -> None:
    """FailedPrecondition when the user belongs to max_rooms rooms already (creating, joining, accepting).

    Counted inside the caller's transaction (ix_members_user_id): two joins at the same moment may
    both pass at the edge, which goes one room past the cap at most per concurrent call.
    """
    count = s.scalar(select(func.count()).select_from(Member).where(Member.user_id == user_id)) or 0
    if count >= max_rooms:
        raise FailedPrecondition(f"you are in {count} rooms, the most one may be in ({max_rooms}); leave a room first")
