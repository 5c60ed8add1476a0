"""Membership: joining, leaving, inviting, and who belongs to a room.

Blocking: runs on the Database's worker threads. Membership writes take the room's row lock first
(access.room(lock=True)) and hold the room's lock in this process over their publish (locks.py).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from chat_svc import access, models, repository, rules
from chat_svc.domain import Member, MemberRole, Room, RoomKind
from chat_svc.locks import RoomLocks
from chat_svc.publisher import Publisher
from common.db import Database
from common.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from common.timestamps import utcnow


class Membership:
    """Who belongs to which room, over one chat_db."""

    def __init__(self, db: Database, publisher: Publisher, locks: RoomLocks) -> None:
        self._db = db
        self._publisher = publisher
        self._locks = locks

    def require_member(self, user_id: int, room_id: int) -> None:
        """PermissionDenied / NotFound unless the user belongs to the room."""
        with self._db.sessions() as s:
            access.member_room(s, room_id, user_id)

    def member_room_ids(self, user_id: int) -> set[int]:
        """Ids of every room the user belongs to."""
        with self._db.sessions() as s:
            return set(s.scalars(select(models.Member.room_id).where(models.Member.user_id == user_id)))

    def join(self, user_id: int, room_id: int) -> Room:
        """Join a public channel; already a member is fine."""
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row = access.room(s, room_id, lock=True)
                if s.get(models.Member, (row.id, user_id)) is not None:
                    return repository.room_of(row)
                if row.kind != RoomKind.PUBLIC:
                    raise PermissionDenied(f"room {row.id} is not a public channel; ask a member to invite you")
                member = _add(s, row, user_id)
                room = repository.room_of(row)
            self._publisher.joined(room.id, [member])
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

    def invite(self, user_id: int, room_id: int, invitee_id: int) -> Member:
        """Add a user to a room the caller belongs to; already a member is fine.

        The invitee's existence is auth_svc's to say: service.Chat.invite asks it first.
        """
        if invitee_id <= 0:
            raise InvalidArgument("user_id must be a user's id")
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row = access.room(s, room_id, lock=True)
                access.membership(s, row, user_id)
                if row.kind == RoomKind.DIRECT:
                    raise FailedPrecondition("a direct conversation has exactly two members; create a room instead")
                found = s.get(models.Member, (row.id, invitee_id))
                if found is not None:
                    return repository.member_of(found)
                member = _add(s, row, invitee_id)
            self._publisher.joined(room_id, [member], by_user_id=user_id)
        return member

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


def _add(s: Session, row: models.Room, user_id: int) -> Member:
    """A new plain member of the (locked) room; the room row is refreshed with its new count."""
    member = Member(user_id, MemberRole.MEMBER, utcnow())
    s.add(models.Member(room_id=row.id, user_id=user_id, role=member.role, joined_at=member.joined_at))
    s.execute(update(models.Room).where(models.Room.id == row.id).values(member_count=models.Room.member_count + 1))
    s.flush()
    s.refresh(row)
    return member
