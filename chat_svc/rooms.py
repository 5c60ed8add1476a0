"""Rooms: creating channels, private rooms and direct conversations, and finding them again.

Blocking: runs on the Database's worker threads.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from chat_svc import access, models, notifications, repository, rules
from chat_svc.domain import Member, MemberRole, MyRoom, Room, RoomKind
from chat_svc.publisher import Publisher
from common.db import Database
from common.errors import InvalidArgument
from common.timestamps import utcnow


class Rooms:
    """Room lifecycle and lookups over one chat_db."""

    def __init__(self, db: Database, publisher: Publisher) -> None:
        self._db = db
        self._publisher = publisher

    def create(self, user_id: int, kind: int, name: str, topic: str, member_ids: Sequence[int]) -> Room:
        """A new public channel or private room owned by the caller, with the given members."""
        if kind not in (RoomKind.PUBLIC, RoomKind.PRIVATE):
            raise InvalidArgument("kind must be ROOM_KIND_PUBLIC or ROOM_KIND_PRIVATE (use OpenDirectRoom for DMs)")
        others = rules.invitees(member_ids, user_id)
        now = utcnow()
        with self._db.sessions.begin() as s:
            row = models.Room(
                kind=kind,
                name=rules.room_name(name),
                topic=rules.topic(topic),
                room_mentions=kind == RoomKind.PRIVATE,  # @room: on in private rooms, off in public channels
                created_by=user_id,
                created_at=now,
                member_count=1 + len(others),
            )
            s.add(row)
            s.flush()
            members = [Member(user_id, MemberRole.OWNER, now), *(Member(o, MemberRole.MEMBER, now) for o in others)]
            s.add_all(models.Member(room_id=row.id, user_id=m.user_id, role=m.role, joined_at=now) for m in members)
            room = repository.room_of(row)
        self._publisher.room_created(room, members)
        return room

    def open_direct(self, user_id: int, other_id: int) -> tuple[Room, bool]:
        """The direct room of two users, created on first use; and whether it was created now."""
        low, high = sorted((user_id, rules.direct_peer(other_id, user_id)))
        key = f"{low}:{high}"
        existing = self._direct(key)
        if existing is not None:
            return existing, False
        now = utcnow()
        members = [Member(low, MemberRole.MEMBER, now), Member(high, MemberRole.MEMBER, now)]
        try:
            with self._db.sessions.begin() as s:
                row = models.Room(
                    kind=RoomKind.DIRECT, created_by=user_id, created_at=now, member_count=2, direct_key=key
                )
                s.add(row)
                s.flush()
                s.add_all(models.Member(room_id=row.id, user_id=m.user_id, role=m.role, joined_at=now) for m in members)
                room = repository.room_of(row)
        except IntegrityError:  # the other user opened it at the same moment
            raced = self._direct(key)
            assert raced is not None
            return raced, False
        self._publisher.joined(room.id, members)
        return room, True

    def _direct(self, key: str) -> Room | None:
        with self._db.sessions() as s:
            row = s.scalar(select(models.Room).where(models.Room.direct_key == key))
            return None if row is None else repository.room_of(row)

    def get(self, user_id: int, room_id: int) -> Room:
        """A room the caller may see."""
        with self._db.sessions() as s:
            return repository.room_of(access.visible_room(s, room_id, user_id))

    def list_mine(self, user_id: int) -> list[MyRoom]:
        """The caller's rooms, most recently active first, with unread counts."""
        room, member = models.Room, models.Member
        with self._db.sessions() as s:
            rows = s.execute(
                select(room, member)
                .join(member, member.room_id == room.id)
                .where(member.user_id == user_id)
                .order_by(func.coalesce(room.last_message_at, room.created_at).desc(), room.id.desc())
            ).all()
            unread = repository.unread_counts(s, user_id)
            mentioned = repository.mention_counts(s, user_id)
        return [
            MyRoom(
                repository.room_of(r),
                m.last_read_seq,
                unread.get(r.id, 0),
                m.role,
                mentioned.get(r.id, 0),
                notifications.resolved(r.kind, m.notification_level),
            )
            for r, m in rows
        ]

    def list_public(self, query: str, after_room_id: int, limit: int) -> tuple[list[Room], bool]:
        """Public channels whose name contains query, ascending id, after a cursor; and whether more follow."""
        size = rules.page_size(limit)
        if len(query) > rules.ROOM_NAME_MAX:
            raise InvalidArgument(f"query must be at most {rules.ROOM_NAME_MAX} characters")
        room = models.Room
        statement = select(room).where(room.kind == RoomKind.PUBLIC, room.id > max(after_room_id, 0))
        if query.strip():
            escaped = query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            statement = statement.where(func.lower(room.name).like(f"%{escaped.lower()}%", escape="\\"))
        with self._db.sessions() as s:
            rows = s.scalars(statement.order_by(room.id).limit(size + 1)).all()
        return [repository.room_of(r) for r in rows[:size]], len(rows) > size
