"""Invitations: nobody becomes a member of a room without saying yes.

CreateRoom's member list, InviteMember and OpenDirectRoom offer invitations (`offer`); the invitee
accepts (a members row replaces the invitation) or declines (the row stays, declined, and nobody
can invite them to that room again until they join it themselves). Each invitee has a bounded
list of pending invitations, and one inviter may fill only a few of its places.

Blocking: runs on the Database's worker threads. Writes take the room's row lock first and hold
the room's lock in this process over their publish, as membership.py does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from chat_svc import access, blocks, models, repository
from chat_svc.domain import Invitation, InvitationState, Room, RoomKind
from chat_svc.locks import RoomLocks
from chat_svc.membership import enter
from chat_svc.publisher import Publisher
from common.db import Database
from common.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from common.timestamps import utcnow


@dataclass(frozen=True)
class Limits:
    """The caps of consent (CHAT_MAX_ROOMS_PER_USER, CHAT_MAX_PENDING_INVITATIONS, CHAT_MAX_INVITATIONS_PER_INVITER)."""

    max_rooms: int = 1000
    max_pending: int = 50
    max_per_inviter: int = 5


def offer(
    s: Session, row: models.Room, inviter_id: int, invitee_id: int, limits: Limits, now: datetime
) -> models.Invitation:
    """Store a new pending invitation (the room row locked or new), or refuse it: blocked, declined, caps."""
    blocks.refuse_blocked(s, inviter_id, invitee_id, "invite")
    invitation = models.Invitation
    pending = invitation.declined_at.is_(None)
    counts = s.execute(
        select(func.count(), func.sum(case((invitation.inviter_id == inviter_id, 1), else_=0))).where(
            invitation.user_id == invitee_id, pending
        )
    ).one()
    if counts[0] >= limits.max_pending:
        raise ResourceExhausted(
            f"user {invitee_id} has {limits.max_pending} invitations waiting for an answer; try again later"
        )
    if (counts[1] or 0) >= limits.max_per_inviter:
        raise ResourceExhausted(
            f"user {invitee_id} has not answered {limits.max_per_inviter} of your invitations yet; wait for them"
        )
    created = models.Invitation(room_id=row.id, user_id=invitee_id, inviter_id=inviter_id, created_at=now)
    s.add(created)
    return created


class Invitations:
    """Pending invitations over one chat_db."""

    def __init__(self, db: Database, publisher: Publisher, locks: RoomLocks, limits: Limits) -> None:
        self._db = db
        self._publisher = publisher
        self._locks = locks
        self._limits = limits

    def invite(self, user_id: int, room_id: int, invitee_id: int) -> Invitation | None:
        """Invite a user to a room the caller belongs to; None when they are a member already.

        Idempotent: a pending invitation is answered again. The invitee's existence is auth_svc's to
        say: service.Chat.invite asks it first.
        """
        if invitee_id <= 0 or invitee_id == user_id:
            raise InvalidArgument("user_id must be another user's id")
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row = access.room(s, room_id, lock=True)
                access.membership(s, row, user_id)
                access.require_open(row)
                if row.kind == RoomKind.DIRECT:
                    raise FailedPrecondition("a direct conversation has exactly two members; create a room instead")
                if s.get(models.Member, (row.id, invitee_id)) is not None:
                    return None
                found = s.get(models.Invitation, (row.id, invitee_id))
                if found is not None and found.declined_at is not None:
                    raise FailedPrecondition(
                        f"user {invitee_id} declined an invitation to this room; only they can change that"
                    )
                if found is not None:
                    return repository.invitation_of(found, row)
                invitation = repository.invitation_of(offer(s, row, user_id, invitee_id, self._limits, utcnow()), row)
            self._publisher.invitation(invitation, InvitationState.PENDING)
        return invitation

    def pending(self, user_id: int) -> list[Invitation]:
        """The user's pending invitations, newest first (at most the cap's worth)."""
        invitation, room = models.Invitation, models.Room
        with self._db.sessions() as s:
            rows = s.execute(
                select(invitation, room)
                .join(room, room.id == invitation.room_id)
                .where(invitation.user_id == user_id, invitation.declined_at.is_(None))
                .order_by(invitation.created_at.desc(), invitation.room_id.desc())
                .limit(self._limits.max_pending)
            ).all()
            return [repository.invitation_of(i, r) for i, r in rows]

    def accept(self, user_id: int, room_id: int) -> Room:
        """Take up a pending invitation: the caller becomes a member. A member already is fine."""
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row = access.room(s, room_id, lock=True)
                if s.get(models.Member, (row.id, user_id)) is not None:
                    return repository.room_of(row)
                found = s.get(models.Invitation, (row.id, user_id))
                if found is None or found.declined_at is not None:
                    raise NotFound(f"you have no pending invitation to room {room_id}")
                access.require_open(row)
                member, accepted = enter(s, row, user_id, self._limits.max_rooms)
                room = repository.room_of(row)
            self._publisher.entered(room.id, member, accepted)
        return room

    def decline(self, user_id: int, room_id: int) -> None:
        """Decline a pending invitation; declined already is fine."""
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row = access.room(s, room_id, lock=True)
                found = s.get(models.Invitation, (row.id, user_id))
                if found is None:
                    raise NotFound(f"you have no pending invitation to room {room_id}")
                if found.declined_at is not None:
                    return
                found.declined_at = utcnow()
                invitation = repository.invitation_of(found, row)
            self._publisher.invitation(invitation, InvitationState.DECLINED)
