"""Read markers: how far each member has read a room, and how much is left unread.

Blocking: runs on the Database's worker threads. A marker only moves forward. Sending moves your
own marker too (messages.py); what counts as unread is repository.py's to say, in one place.
"""

from __future__ import annotations

from chat_svc import access, repository
from chat_svc.publisher import Publisher
from common.db import Database
from common.errors import InvalidArgument


class Reads:
    """Read markers over one chat_db."""

    def __init__(self, db: Database, publisher: Publisher) -> None:
        self._db = db
        self._publisher = publisher

    def mark_read(self, user_id: int, room_id: int, seq: int) -> tuple[int, int, int]:
        """Move the read marker forward to seq (clamped to the room's last seq); (marker, unread, mentions)."""
        if seq < 0:
            raise InvalidArgument("seq must not be negative")
        with self._db.sessions.begin() as s:
            room, member = access.member_room(s, room_id, user_id)
            target = min(seq, room.last_seq)
            moved = target > member.last_read_seq
            read = member.read_count
            if moved:
                read = repository.read_count_at(s, room, member, target)
                repository.advance_marker(s, room.id, user_id, target, read)
            marker = max(target, member.last_read_seq)
            unread = repository.unread_of(room, read)
            mentions = repository.mentions_in(s, room.id, user_id, marker)
        if moved:
            self._publisher.read(room.id, user_id, marker, unread, mentions)
        return marker, unread, mentions
