"""Membership: joining, leaving, and who belongs to a room (invitations.py asks before anyone is added).

Blocking: runs on the Database's worker threads. Membership writes take the room's row lock first
(access.room(lock=True)) and hold the room's lock in this process over their publish (locks.py).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from chat_svc import access, models, repository, rules
from chat_svc.domain import Invitation, Member, MemberRole, Room, RoomKind
from chat_svc.locks import RoomLocks
from chat_svc.publisher import Publisher
from common.db import Database
from common.errors import FailedPrecondition, PermissionDenied
from common.timestamps import utcnow


class Membership:
    """Who belongs to which room, over one chat_db."""

    def __init__(self, db: Database, publisher: Publisher, locks: RoomLocks, max_rooms: int) -> None:
        self._db = db
        self._publisher = publisher
        self._locks = locks
        self._max_rooms = max_rooms

    def require_member(self, user_id: int, room_id: int) -> None:
        """PermissionDenied / NotFound unless the user belongs to the room."""
        with self._db.sessions() as s:
            access.member_room(s, room_id, user_id)

    def member_room_ids(self, user_id: int) -> set[int]:
        """Ids of every room the user belongs to."""
        with self._db.sessions() as s:
            return set(s.scalars(select(models.Member.room_id).where(models.Member.user_id == user_id)))

    def join(self, user_id: int, room_id: int) -> Room:
        """Join a public channel; already a member is fine. An invitation to it is taken up (accepted)."""
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row = access.room(s, room_id, lock=True)
                if s.get(models.Member, (row.id, user_id)) is not None:
                    return repository.room_of(row)
                access.require_open(row)
                if row.kind != RoomKind.PUBLIC:
                    invited = s.get(models.Invitation, (row.id, user_id)) is not None
                    hint = "accept your invitation" if invited else "ask a member to invite you"
                    raise PermissionDenied(f"room {row.id} is not a public channel; {hint}")
                member, accepted = enter(s, row, user_id, self._max_rooms)
                room = repository.room_of(row)
            self._publisher.entered(room.id, member, accepted)
        return room

    def leave(self, user_id: int, room_id: int) -> None:
        """Leave a channel or private room; not a member is fine."""
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row = access.room(s, room_id, lock=True)
                if row.kind == RoomKind.DIRECT:
                    raise FailedPrecondition("you cannot leave a direct conversation")
                found = s.get(models.Member, (row.id, user_id))
                if found is None:
                    return
                member = repository.member_of(found)
                repository.drop_member(s, found)
            self._publisher.left(row.id, member)

    def list_members(self, user_id: int, room_id: int, after_user_id: int, limit: int) -> tuple[list[Member], bool]:
        """Members of a visible room, ascending user id, after a cursor; and whether more follow."""
        size = rules.page_size(limit, rules.MEMBERS_PAGE_DEFAULT, rules.MEMBERS_PAGE_MAX)
        member = models.Member
        with self._db.sessions() as s:
            row = access.visible_room(s, room_id, user_id)
            rows = s.scalars(
                select(member)
                .where(member.room_id == row.id, member.user_id > max(after_user_id, 0))
                .order_by(member.user_id)
                .limit(size + 1)
            ).all()
        return [repository.member_of(m) for m in rows[:size]], len(rows) > size


def add_member(s: Session, row: models.Room, user_id: int, max_rooms: int) -> Member:
    """A new plain member of the (locked) room, within the user's room cap; the room row is refreshed."""
    access.require_room_space(s, user_id, max_rooms)
    member = Member(user_id, MemberRole.MEMBER, utcnow())
    s.add(models.Member(room_id=row.id, user_id=user_id, role=member.role, joined_at=member.joined_at))
    s.execute(update(models.Room).where(models.Room.id == row.id).values(member_count=models.Room.member_count + 1))
    s.flush()
    s.refresh(row)
    return member


def enter(s: Session, row: models.Room, user_id: int, max_rooms: int) -> tuple[Member, Invitation | None]:
    """Make the user a member of the (locked) room, within their cap, taking up their invitation to it.

    Returns the membership and the pending invitation it accepted (None: there was none). A declined
    one is dropped too: joining by oneself undoes a decline.
    """
    pending = repository.take_invitation(s, row.id, user_id)
    member = add_member(s, row, user_id, max_rooms)
    if pending is None:
        return member, None
    return member, Invitation(repository.room_of(row), user_id, pending.inviter_id, pending.created_at)
