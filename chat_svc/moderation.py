"""Moderation: changing a room's name, topic and settings, members' roles, and removing members.

Blocking: runs on the Database's worker threads. Who may do which is roles.py's table; here the
rows are found and changed. Each change takes the room's row lock first (access.room(lock=True), as
membership writes do) and its next change number (repository.next_change), recorded where the
replay finds it (rooms.settings_change, members.role_change), and publishes under the room's lock
in this process (locks.py). A change to what already holds changes nothing and publishes nothing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from chat_svc import access, models, repository, rules
from chat_svc.domain import Member, MemberRole, Room, RoomKind
from chat_svc.locks import RoomLocks
from chat_svc.publisher import Publisher
from chat_svc.roles import Act, require
from common.db import Database
from common.errors import FailedPrecondition, InvalidArgument, NotFound


class Moderation:
    """Room settings, roles and removals over one chat_db."""

    def __init__(self, db: Database, publisher: Publisher, locks: RoomLocks) -> None:
        self._db = db
        self._publisher = publisher
        self._locks = locks

    def update_room(
        self, user_id: int, room_id: int, name: str | None, topic: str | None, room_mentions: bool | None
    ) -> Room:
        """Change the fields that are given (None: left as is); owners and moderators of non-direct rooms."""
        new_name = None if name is None else rules.room_name(name)
        new_topic = None if topic is None else rules.topic(topic)
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row, actor = _managed_room(s, room_id, user_id)
                require(Act.UPDATE_ROOM, actor.role)
                wanted = {"name": new_name, "topic": new_topic, "room_mentions": room_mentions}
                changes = {k: v for k, v in wanted.items() if v is not None and getattr(row, k) != v}
                if not changes:
                    return repository.room_of(row)
                for field, value in changes.items():
                    setattr(row, field, value)
                row.settings_change, _ = repository.next_change(s, row.id)
                s.flush()
                s.refresh(row)
                room = repository.room_of(row)
            self._publisher.room_updated(room)
        return room

    def set_role(self, user_id: int, room_id: int, member_id: int, role: int) -> Member:
        """Make a member a moderator or a plain member again; the owner only."""
        if role not in (MemberRole.MODERATOR, MemberRole.MEMBER):
            raise InvalidArgument("role must be MEMBER_ROLE_MODERATOR or MEMBER_ROLE_MEMBER")
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row, actor = _managed_room(s, room_id, user_id)
                target = _member(s, row, member_id)
                require(Act.SET_ROLE, actor.role, target.role)
                if target.role == role:
                    return repository.member_of(target)
                target.role = role
                target.role_change, _ = repository.next_change(s, row.id)
                s.flush()
                member = repository.member_of(target)
            self._publisher.role_changed(row.id, member, user_id)
        return member

    def remove(self, user_id: int, room_id: int, member_id: int) -> None:
        """Remove another member: the owner anyone else, a moderator plain members."""
        if member_id == user_id:
            raise InvalidArgument("you cannot remove yourself; leave the room instead")
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row, actor = _managed_room(s, room_id, user_id)
                target = _member(s, row, member_id)
                require(Act.REMOVE_MEMBER, actor.role, target.role)
                member = repository.member_of(target)
                repository.drop_member(s, target)
                row.settings_change, _ = repository.next_change(s, row.id)
                s.flush()
                s.refresh(row)
                room = repository.room_of(row)
            # member_left ends the removed user's subscription to the room, as after LeaveRoom.
            self._publisher.removed(room, member, user_id)


def _managed_room(s: Session, room_id: int, user_id: int) -> tuple[models.Room, models.Member]:
    """A public or private room the caller belongs to (its row locked), and the caller's membership."""
    row = access.room(s, room_id, lock=True)
    actor = access.membership(s, row, user_id)
    if row.kind == RoomKind.DIRECT:
        raise FailedPrecondition("a direct conversation has no settings or roles to change")
    return row, actor


def _member(s: Session, row: models.Room, member_id: int) -> models.Member:
    """Another member of the room, or NotFound."""
    found = s.get(models.Member, (row.id, member_id)) if member_id > 0 else None
    if found is None:
        raise NotFound(f"user {member_id} is not a member of room {row.id}")
    return found
