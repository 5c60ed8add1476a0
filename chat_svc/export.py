"""A room's whole history for operators (ModerationService.ExportRoom): every message in seq order.

Pages of PAGE messages walk the (room_id, seq) primary key from after a seq (a keyset, like the
replay), so an export of any size holds one page in memory, and an interrupted one resumes from the
last seq it received. Tombstones are included, bodyless; thread replies are in their seq places.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from chat_svc import access
from chat_svc.domain import Message
from chat_svc.history import History
from common.db import Database
from common.errors import InvalidArgument

PAGE = 500  # messages per read: one round trip per page, small enough to hold while streaming


class Export:
    """Streams rooms' histories over one chat_db."""

    def __init__(self, db: Database, history: History, page: int = PAGE) -> None:
        self._db = db
        self._history = history
        self._page = page

    async def pages(self, room_id: int, after_seq: int) -> AsyncIterator[list[Message]]:
        """The room's messages after after_seq, ascending, a page at a time; NotFound for no room."""
        if after_seq < 0:
            raise InvalidArgument("after_seq must not be negative (0 = from the first message)")
        await self._db.run(self._exists, room_id)
        after = after_seq
        while True:
            page = await self._db.run(self._history.after, room_id, after, self._page)
            if page:
                yield page
                after = page[-1].seq
            if len(page) < self._page:
                return

    def _exists(self, room_id: int) -> None:
        with self._db.sessions() as s:
            access.room(s, room_id)
