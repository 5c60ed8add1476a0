"""Rooms: creating channels, private rooms and direct conversations, and finding them again.

Blocking: runs on the Database's worker threads. A new room's other users are invited, never
added (invitations.py); a direct conversation starts with its opener and an invitation to the
other user, who joins by accepting it or by opening the conversation themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from chat_svc import access, blocks, models, notifications, repository, rules
from chat_svc.domain import Invitation, InvitationState, Member, MemberRole, MyRoom, Room, RoomKind
from chat_svc.invitations import Limits, offer
from chat_svc.locks import RoomLocks
from chat_svc.membership import enter
from chat_svc.publisher import Publisher
from common.db import Database
from common.errors import InvalidArgument
from common.timestamps import utcnow


class Rooms:
    """Room lifecycle and lookups over one chat_db."""

    def __init__(self, db: Database, publisher: Publisher, locks: RoomLocks, limits: Limits) -> None:
        self._db = db
        self._publisher = publisher
        self._locks = locks
        self._limits = limits

    def create(self, user_id: int, kind: int, name: str, topic: str, member_ids: Sequence[int]) -> Room:
        """A new public channel or private room owned by the caller, with the given users invited."""
        if kind not in (RoomKind.PUBLIC, RoomKind.PRIVATE):
            raise InvalidArgument("kind must be ROOM_KIND_PUBLIC or ROOM_KIND_PRIVATE (use OpenDirectRoom for DMs)")
        others = rules.invitees(member_ids, user_id)
        now = utcnow()
        with self._db.sessions.begin() as s:
            access.require_room_space(s, user_id, self._limits.max_rooms)
            row = models.Room(
                kind=kind,
                name=rules.room_name(name),
                topic=rules.topic(topic),
                room_mentions=kind == RoomKind.PRIVATE,  # @room: on in private rooms, off in public channels
                created_by=user_id,
                created_at=now,
                member_count=1,
            )
            s.add(row)
            s.flush()
            owner = Member(user_id, MemberRole.OWNER, now)
            s.add(models.Member(room_id=row.id, user_id=user_id, role=owner.role, joined_at=now))
            offered = [offer(s, row, user_id, other, self._limits, now) for other in others]
            room = repository.room_of(row)
            invitations = [Invitation(room, i.user_id, user_id, now) for i in offered]
        self._publisher.room_created(room, [owner])
        for invitation in invitations:
            self._publisher.invitation(invitation, InvitationState.PENDING)
        return room

    def open_direct(self, user_id: int, other_id: int) -> tuple[Room, bool]:
        """The direct room of two users, created on first use; and whether it was created now.

        Created with the caller as its member and the other user invited. Opening a conversation one
        was invited to (or had declined) is consent: the caller joins it.
        """
        other = rules.direct_peer(other_id, user_id)
        low, high = sorted((user_id, other))
        key = f"{low}:{high}"
        existing = self._direct(key)
        if existing is None:
            created = self._create_direct(user_id, other, key)
            if created is not None:
                return created, True
            existing = self._direct(key)  # the other user opened it at the same moment
            assert existing is not None
        return self._enter_direct(user_id, other, existing.id), False

    def _create_direct(self, user_id: int, other: int, key: str) -> Room | None:
        """A new direct room with the caller in it and the other invited; None when it exists already."""
        now = utcnow()
        try:
            with self._db.sessions.begin() as s:
                blocks.refuse_blocked(s, user_id, other, "message")
                access.require_room_space(s, user_id, self._limits.max_rooms)
                row = models.Room(
                    kind=RoomKind.DIRECT, created_by=user_id, created_at=now, member_count=1, direct_key=key
                )
                s.add(row)
                s.flush()
                member = Member(user_id, MemberRole.MEMBER, now)
                s.add(models.Member(room_id=row.id, user_id=user_id, role=member.role, joined_at=now))
                offer(s, row, user_id, other, self._limits, now)
                room = repository.room_of(row)
        except IntegrityError:
            return None
        self._publisher.joined(room.id, [member])
        self._publisher.invitation(Invitation(room, other, user_id, now), InvitationState.PENDING)
        return room

    def _enter_direct(self, user_id: int, other: int, room_id: int) -> Room:
        """An existing direct room: the caller's already, or joined now (taking up any invitation)."""
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row = access.room(s, room_id, lock=True)
                if s.get(models.Member, (row.id, user_id)) is not None:
                    return repository.room_of(row)  # the conversation stays, blocked or not
                access.require_open(row)
                blocks.refuse_blocked(s, user_id, other, "message")
                member, accepted = enter(s, row, user_id, self._limits.max_rooms)
                room = repository.room_of(row)
            self._publisher.entered(room.id, member, accepted)
        return room

    def _direct(self, key: str) -> Room | None:
        with self._db.sessions() as s:
            row = s.scalar(select(models.Room).where(models.Room.direct_key == key))
            return None if row is None else repository.room_of(row)

    def get(self, user_id: int, room_id: int) -> Room:
        """A room the caller may see."""
        with self._db.sessions() as s:
            return repository.room_of(access.visible_room(s, room_id, user_id))

    def list_mine(self, user_id: int, after_room_id: int = 0, limit: int = 0) -> tuple[list[MyRoom], bool]:
        """A page of the caller's rooms by ascending id, after a cursor, with unread counts; and whether more follow.

        By id, not by activity: a keyset that a busy room cannot jump over between two pages.
        """
        size = rules.page_size(limit, rules.ROOMS_PAGE_DEFAULT, rules.ROOMS_PAGE_MAX)
        room, member = models.Room, models.Member
        with self._db.sessions() as s:
            rows = s.execute(
                select(room, member)
                .join(member, member.room_id == room.id)
                .where(member.user_id == user_id, room.id > max(after_room_id, 0))
                .order_by(room.id)
                .limit(size + 1)
            ).all()
            page = rows[:size]
            # Only rooms with messages past the marker can have mentions there.
            behind = {r.id: m.last_read_seq for r, m in page if r.last_seq > m.last_read_seq}
            mentioned = repository.mention_counts(s, user_id, behind)
        return [
            MyRoom(
                repository.room_of(r),
                m.last_read_seq,
                repository.unread_of(r, m.read_count),
                m.role,
                mentioned.get(r.id, 0),
                notifications.resolved(r.kind, m.notification_level),
            )
            for r, m in page
        ], len(rows) > size

    def list_public(self, query: str, after_room_id: int, limit: int) -> tuple[list[Room], bool]:
        """Public channels whose name contains query (archived ones left out), ascending id, after a cursor;
        and whether more follow."""
        size = rules.page_size(limit)
        if len(query) > rules.ROOM_NAME_MAX:
            raise InvalidArgument(f"query must be at most {rules.ROOM_NAME_MAX} characters")
        room = models.Room
        statement = select(room).where(
            room.kind == RoomKind.PUBLIC, room.archived_at.is_(None), room.id > max(after_room_id, 0)
        )
        if query.strip():
            escaped = query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            statement = statement.where(func.lower(room.name).like(f"%{escaped.lower()}%", escape="\\"))
        with self._db.sessions() as s:
            rows = s.scalars(statement.order_by(room.id).limit(size + 1)).all()
        return [repository.room_of(r) for r in rows[:size]], len(rows) > size
