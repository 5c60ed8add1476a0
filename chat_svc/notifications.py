"""Notification levels: when each member wants to hear of a room's messages, the same on all their devices.

Blocking: runs on the Database's worker threads. Stored per (room, member) in members.notification_level,
0 meaning "the room kind's default" (direct rooms: all; private rooms and channels: mentions), so a
member who never chose follows the default. Counts are kept whatever the level: the level only says
what the web app notifies of.
"""

from __future__ import annotations

from sqlalchemy import update

from chat_svc import access, models
from chat_svc.domain import NotificationLevel, RoomKind
from chat_svc.publisher import Publisher
from common.db import Database
from common.errors import InvalidArgument


def resolved(kind: int, stored: int) -> int:
    """The level in force: the stored one, or the room kind's default when none was chosen."""
    if stored:
        return stored
    return NotificationLevel.ALL if kind == RoomKind.DIRECT else NotificationLevel.MENTIONS


class Notifications:
    """Members' notification levels over one chat_db."""

    def __init__(self, db: Database, publisher: Publisher) -> None:
        self._db = db
        self._publisher = publisher

    def set_level(self, user_id: int, room_id: int, level: int) -> int:
        """Store the member's level (DEFAULT goes back to the kind's default); the level in force."""
        if level not in set(NotificationLevel):
            raise InvalidArgument("level must be ALL, MENTIONS, NONE, or UNSPECIFIED for the room kind's default")
        with self._db.sessions.begin() as s:
            room, member = access.member_room(s, room_id, user_id)
            changed = member.notification_level != level
            if changed:
                s.execute(
                    update(models.Member)
                    .where(models.Member.room_id == room.id, models.Member.user_id == user_id)
                    .values(notification_level=level)
                )
            now = resolved(room.kind, level)
        if changed:  # the member's other sessions follow
            self._publisher.member_settings(room.id, user_id, now)
        return now
