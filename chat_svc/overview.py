"""Operators' reads of rooms (ModerationService): find rooms, list a room's members.

Blocking: runs on the Database's worker threads. Pages are keysets by id (a page token is the
last id of the page before), never OFFSET; archived rooms are included, with their archived_at.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from chat_svc import access, models, repository, rules
from chat_svc.domain import Member, RoomOverview
from chat_svc.operations import owner_ids
from common.db import Database
from common.errors import InvalidArgument

ROOMS_PAGE_DEFAULT, ROOMS_PAGE_MAX = 50, 200
MEMBERS_PAGE_DEFAULT, MEMBERS_PAGE_MAX = 200, 1000


class Overview:
    """Rooms and members as operators see them, over one chat_db."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def find_rooms(
        self, name_prefix: str, room_ids: Sequence[int], page_size: int, page_token: str
    ) -> tuple[list[RoomOverview], str]:
        """Rooms with these ids and / or this name prefix (any case), ascending id; the next page's token."""
        size = rules.page_size(page_size, ROOMS_PAGE_DEFAULT, ROOMS_PAGE_MAX, field="page_size")
        after = rules.page_token(page_token)
        wanted = rules.ids(room_ids, "room_ids", rules.ROOM_IDS_MAX)
        prefix = name_prefix.strip()
        if len(prefix) > rules.ROOM_NAME_MAX:
            raise InvalidArgument(f"name_prefix must be at most {rules.ROOM_NAME_MAX} characters")
        room = models.Room
        statement = select(room).where(room.id > after)
        if wanted:
            statement = statement.where(room.id.in_(wanted))
        if prefix:
            statement = statement.where(func.lower(room.name).startswith(prefix.lower(), autoescape=True))
        with self._db.sessions() as s:
            rows = s.scalars(statement.order_by(room.id).limit(size + 1)).all()
            page = rows[:size]
            owners = owner_ids(s, [r.id for r in page])
            found = [RoomOverview(repository.room_of(r), owners.get(r.id, 0)) for r in page]
        return found, str(page[-1].id) if len(rows) > size else ""

    def members(self, room_id: int, page_size: int, page_token: str) -> tuple[list[Member], str]:
        """A room's members with their roles, ascending user id; the next page's token. NotFound for no room."""
        size = rules.page_size(page_size, MEMBERS_PAGE_DEFAULT, MEMBERS_PAGE_MAX, field="page_size")
        after = rules.page_token(page_token)
        member = models.Member
        with self._db.sessions() as s:
            row = access.room(s, room_id)
            rows = s.scalars(
                select(member)
                .where(member.room_id == row.id, member.user_id > after)
                .order_by(member.user_id)
                .limit(size + 1)
            ).all()
        page = rows[:size]
        return [repository.member_of(m) for m in page], str(page[-1].user_id) if len(rows) > size else ""
