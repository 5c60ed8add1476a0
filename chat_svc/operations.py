"""Operators' writes to rooms and messages (ModerationService): archive, restore, remove a member,
transfer ownership, take a message down.

Blocking: runs on the Database's worker threads. Each write goes the way members' own changes go:
the room's row lock first (access.room(lock=True)), the room's next change number for what the
replay must find again (rooms.settings_change, members.role_change, messages.change), its audit
entry in the same transaction (audit.record), and the publish after the commit under the room's
lock in this process (locks.py), so members see every effect live and on resume. An operator is
no member: events name nobody as the one who did it (by_user_id 0, deleted_by 0).

A write that finds its change already made (archiving an archived room, taking down a tombstone)
changes and publishes nothing, but is still recorded, with {"changed": false}: the log says who
asked for what.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from chat_svc import access, audit, messages, models, repository
from chat_svc.domain import MemberRole, Message, RoomKind, RoomOverview
from chat_svc.locks import RoomLocks
from chat_svc.publisher import Publisher
from chat_svc.threads import ThreadChange
from common.db import Database
from common.errors import FailedPrecondition, NotFound


def owner_ids(s: Session, room_ids: list[int]) -> dict[int, int]:
    """The owner of each of these rooms that has one."""
    if not room_ids:
        return {}
    member = models.Member
    rows = s.execute(
        select(member.room_id, member.user_id).where(member.room_id.in_(room_ids), member.role == MemberRole.OWNER)
    )
    return {room_id: user_id for room_id, user_id in rows}


def overview_of(s: Session, row: models.Room) -> RoomOverview:
    """One room as an operator sees it."""
    return RoomOverview(repository.room_of(row), owner_ids(s, [row.id]).get(row.id, 0))


class Operations:
    """Operators' writes over one chat_db."""

    def __init__(self, db: Database, publisher: Publisher, locks: RoomLocks) -> None:
        self._db = db
        self._publisher = publisher
        self._locks = locks

    def archive(self, actor: str, room_id: int, reason: str) -> RoomOverview:
        """Make a room read-only and hidden from browsing; archived already is fine."""
        return self._set_archived(actor, room_id, reason, archived=True)

    def restore(self, actor: str, room_id: int, reason: str) -> RoomOverview:
        """Make an archived room writable and browsable again; not archived is fine."""
        return self._set_archived(actor, room_id, reason, archived=False)

    def _set_archived(self, actor: str, room_id: int, reason: str, archived: bool) -> RoomOverview:
        why = audit.reason(reason)
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row = access.room(s, room_id, lock=True)
                changed = (row.archived_at is None) == archived
                if changed:
                    row.settings_change, now = repository.next_change(s, row.id)
                    row.archived_at = now if archived else None
                    s.flush()
                    s.refresh(row)
                action = "archive_room" if archived else "restore_room"
                audit.record(s, actor, action, audit.room_target(row.id), why, {"changed": changed})
                overview = overview_of(s, row)
            if changed:
                self._publisher.room_updated(overview.room)
        return overview

    def remove_member(self, actor: str, room_id: int, user_id: int, reason: str) -> None:
        """Remove a member; a removed owner's room passes to its longest-standing member."""
        why = audit.reason(reason)
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row = access.room(s, room_id, lock=True)
                if row.kind == RoomKind.DIRECT:
                    raise FailedPrecondition("a direct conversation has exactly two members; none can be removed")
                target = _member(s, row, user_id)
                removed = repository.member_of(target)
                repository.drop_member(s, target)
                row.settings_change, _ = repository.next_change(s, row.id)
                heir = _longest_standing(s, row.id, user_id) if target.role == MemberRole.OWNER else None
                if heir is not None:
                    heir.role = MemberRole.OWNER
                    heir.role_change, _ = repository.next_change(s, row.id)
                s.flush()
                s.refresh(row)
                room = repository.room_of(row)
                new_owner = None if heir is None else repository.member_of(heir)
                detail = {"user_id": user_id, "new_owner_id": 0 if new_owner is None else new_owner.user_id}
                audit.record(s, actor, "remove_room_member", audit.room_target(row.id), why, detail)
            # member_left ends the removed user's subscription to the room, as after RemoveMember.
            self._publisher.removed(room, removed, 0)
            if new_owner is not None:
                self._publisher.role_changed(room.id, new_owner, 0)

    def transfer_ownership(self, actor: str, room_id: int, user_id: int, reason: str) -> RoomOverview:
        """Make a member the owner; the previous owner becomes a moderator. The owner already is fine."""
        why = audit.reason(reason)
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row = access.room(s, room_id, lock=True)
                if row.kind == RoomKind.DIRECT:
                    raise FailedPrecondition("a direct conversation has no owner")
                target = _member(s, row, user_id)
                changed: list[models.Member] = []
                previous = 0
                if target.role != MemberRole.OWNER:
                    for owner in s.scalars(
                        select(models.Member).where(
                            models.Member.room_id == row.id, models.Member.role == MemberRole.OWNER
                        )
                    ).all():
                        owner.role, previous = MemberRole.MODERATOR, owner.user_id
                        owner.role_change, _ = repository.next_change(s, row.id)
                        changed.append(owner)
                    target.role = MemberRole.OWNER
                    target.role_change, _ = repository.next_change(s, row.id)
                    changed.append(target)
                    s.flush()
                    s.refresh(row)
                members = [repository.member_of(m) for m in changed]
                detail = {"user_id": user_id, "previous_owner_id": previous, "changed": bool(changed)}
                audit.record(s, actor, "transfer_ownership", audit.room_target(row.id), why, detail)
                overview = overview_of(s, row)
            for member in members:
                self._publisher.role_changed(row.id, member, 0)
        return overview

    def take_down(self, actor: str, room_id: int, seq: int, reason: str) -> Message:
        """Turn any message into a tombstone that says an operator took it down; a tombstone already is fine."""
        why = audit.reason(reason)
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                found = access.room(s, room_id)
                row = s.get(models.Message, (found.id, seq), with_for_update=True) if seq > 0 else None
                if row is None:
                    raise NotFound(f"room {found.id} has no message {seq}")
                changed = row.deleted_at is None
                thread: list[ThreadChange] = []
                if changed:
                    message, thread = messages.tombstone(s, row, 0)
                else:
                    message = repository.message_of(row)
                detail = {"sender_id": row.sender_id, "changed": changed}
                audit.record(s, actor, "take_down_message", audit.message_target(found.id, row.seq), why, detail)
            if changed:
                self._publisher.changed(message)
                self._publisher.threads_updated(thread)
        return message


def _member(s: Session, row: models.Room, user_id: int) -> models.Member:
    """A member of the room, or NotFound."""
    found = s.get(models.Member, (row.id, user_id)) if user_id > 0 else None
    if found is None:
        raise NotFound(f"user {user_id} is not a member of room {row.id}")
    return found


def _longest_standing(s: Session, room_id: int, leaving: int) -> models.Member | None:
    """The member who joined first (then the lowest id), other than the one leaving; None when nobody is left."""
    member = models.Member
    return s.scalars(
        select(member)
        .where(member.room_id == room_id, member.user_id != leaving)
        .order_by(member.joined_at, member.user_id)
        .limit(1)
    ).first()
