"""Typing: a member's passing signal to the others in a room, published and never stored.

Blocking (the membership check reads chat_db): runs on the Database's worker threads.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chat_svc.membership import Membership
from chat_svc.publisher import Publisher
from common.timestamps import utcnow


class Typing:
    """Announces that a member is typing, for `ttl_seconds` unless repeated."""

    def __init__(self, membership: Membership, publisher: Publisher, ttl_seconds: float) -> None:
        self._membership = membership
        self._publisher = publisher
        self._ttl = timedelta(seconds=ttl_seconds)

    def typing(self, user_id: int, room_id: int) -> datetime:
        """Tell the room's members; when the signal expires. Only members may."""
        self._membership.require_member(user_id, room_id)
        expires = utcnow() + self._ttl
        self._publisher.typing(room_id, user_id, expires)
        return expires
