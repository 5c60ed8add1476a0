"""Blocks: a user shuts another out of their direct conversations and invitations.

Blocking: runs on the Database's worker threads. A block is one row (blocker, blocked); the rules
that ask about blocks (invitations.py, rooms.py) call `refuse_blocked` inside their transaction.
Rooms already shared stay shared: blocking does not remove anyone from a room.
"""

from __future__ import annotations

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from chat_svc import models, repository
from chat_svc.domain import Blocked, InvitationState
from chat_svc.publisher import Publisher
from common.db import Database
from common.errors import InvalidArgument, PermissionDenied, ResourceExhausted
from common.limits import BLOCKS_MAX
from common.timestamps import utcnow


class Blocks:
    """Who blocked whom, over one chat_db."""

    def __init__(self, db: Database, publisher: Publisher) -> None:
        self._db = db
        self._publisher = publisher

    def block(self, user_id: int, other_id: int) -> None:
        """Block a user; their pending invitations to the caller are withdrawn. Blocked already is fine."""
        if other_id <= 0 or other_id == user_id:
            raise InvalidArgument("user_id must be another user's id")
        with self._db.sessions.begin() as s:
            if s.get(models.Block, (user_id, other_id)) is not None:
                return
            count = s.scalar(select(func.count()).select_from(models.Block).where(models.Block.user_id == user_id))
            if (count or 0) >= BLOCKS_MAX:
                raise ResourceExhausted(f"you have blocked {BLOCKS_MAX} users, the most one may; unblock some first")
            s.add(models.Block(user_id=user_id, blocked_id=other_id, created_at=utcnow()))
            invitation = models.Invitation
            rows = s.execute(
                select(invitation, models.Room)
                .join(models.Room, models.Room.id == invitation.room_id)
                .where(
                    invitation.user_id == user_id,
                    invitation.inviter_id == other_id,
                    invitation.declined_at.is_(None),
                )
            ).all()
            withdrawn = [repository.invitation_of(i, r) for i, r in rows]
            s.execute(
                delete(invitation).where(
                    invitation.user_id == user_id, invitation.inviter_id == other_id, invitation.declined_at.is_(None)
                )
            )
        for gone in withdrawn:
            self._publisher.invitation(gone, InvitationState.WITHDRAWN)

    def unblock(self, user_id: int, other_id: int) -> None:
        """Unblock a user; not blocked is fine."""
        if other_id <= 0:
            raise InvalidArgument("user_id must be a user's id")
        with self._db.sessions.begin() as s:
            s.execute(delete(models.Block).where(models.Block.user_id == user_id, models.Block.blocked_id == other_id))

    def list_blocked(self, user_id: int) -> list[Blocked]:
        """Whom the user blocked, most recent first."""
        block = models.Block
        with self._db.sessions() as s:
            rows = s.scalars(
                select(block).where(block.user_id == user_id).order_by(block.created_at.desc(), block.blocked_id.desc())
            ).all()
        return [Blocked(row.blocked_id, row.created_at) for row in rows]


def refuse_blocked(s: Session, actor_id: int, other_id: int, what: str) -> None:
    """PermissionDenied when either user blocked the other; `what` names the act ("invite", "message")."""
    block = models.Block
    rows = s.scalars(
        select(block.user_id).where(
            or_(
                and_(block.user_id == actor_id, block.blocked_id == other_id),
                and_(block.user_id == other_id, block.blocked_id == actor_id),
            )
        )
    ).all()
    if actor_id in rows:
        raise PermissionDenied(f"you blocked user {other_id}; unblock them to {what} them")
    if rows:
        raise PermissionDenied(f"user {other_id} does not accept invitations or messages from you")
