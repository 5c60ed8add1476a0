"""ModerationService's work, awaitable, in domain values: what its servicer (moderation_servicer.py) awaits.

The concepts are operations.py (writes), overview.py (finding rooms and members), audit.py (the
log), export.py (a room's history) and tail.py (the live stream); this runs the blocking ones on
the Database's worker threads. service.Chat builds it with the room locks and the publisher its own
concepts share, so an operator's change and a member's are ordered and published alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from chat_svc.audit import AuditLog
from chat_svc.domain import Member, Message, RoomOverview
from chat_svc.events import EventHub
from chat_svc.export import Export
from chat_svc.history import History
from chat_svc.locks import RoomLocks
from chat_svc.operations import Operations
from chat_svc.overview import Overview
from chat_svc.publisher import Publisher
from chat_svc.tail import Tail, Tails
from common.db import Database
from parley.audit.v1 import audit_pb2


class Operator:
    """Operators' reads and writes over one chat_db and one hub."""

    def __init__(self, db: Database, hub: EventHub, publisher: Publisher, locks: RoomLocks, history: History) -> None:
        self._run = db.run
        self.operations = Operations(db, publisher, locks)
        self.overview = Overview(db)
        self.audit = AuditLog(db)
        self.export = Export(db, history)
        self.tails = Tails(hub)

    async def find_rooms(
        self, name_prefix: str, room_ids: Sequence[int], page_size: int, page_token: str
    ) -> tuple[list[RoomOverview], str]:
        """A page of rooms by id or name prefix; the next page's token."""
        return await self._run(self.overview.find_rooms, name_prefix, room_ids, page_size, page_token)

    async def members(self, room_id: int, page_size: int, page_token: str) -> tuple[list[Member], str]:
        """A page of a room's members; the next page's token."""
        return await self._run(self.overview.members, room_id, page_size, page_token)

    async def archive(self, actor: str, room_id: int, reason: str) -> RoomOverview:
        """Archive a room."""
        return await self._run(self.operations.archive, actor, room_id, reason)

    async def restore(self, actor: str, room_id: int, reason: str) -> RoomOverview:
        """Restore an archived room."""
        return await self._run(self.operations.restore, actor, room_id, reason)

    async def remove_member(self, actor: str, room_id: int, user_id: int, reason: str) -> None:
        """Remove a member of a room."""
        await self._run(self.operations.remove_member, actor, room_id, user_id, reason)

    async def transfer_ownership(self, actor: str, room_id: int, user_id: int, reason: str) -> RoomOverview:
        """Make a member the owner of a room."""
        return await self._run(self.operations.transfer_ownership, actor, room_id, user_id, reason)

    async def take_down(self, actor: str, room_id: int, seq: int, reason: str) -> Message:
        """Take a message down."""
        return await self._run(self.operations.take_down, actor, room_id, seq, reason)

    def export_pages(self, room_id: int, after_seq: int) -> AsyncIterator[list[Message]]:
        """A room's messages after a seq, page by page."""
        return self.export.pages(room_id, after_seq)

    def tail(self, room_ids: Sequence[int], kinds: Sequence[str]) -> Tail:
        """Open a tail of the live events (subscribed when this returns)."""
        return self.tails.open(room_ids, kinds)

    async def audit_log(self, request: audit_pb2.ListAuditLogRequest) -> audit_pb2.ListAuditLogResponse:
        """A page of the audit log, newest first (common/audit.py answers in its proto)."""
        return await self._run(self.audit.page, request)
