"""StreamEvents' rules: who may follow which rooms, the replay from chat_db, then live events without repeats.

Events are pb.Event here, the hub's and the broker's wire format; the replayed ones are built from
domain values by convert.py like every other event.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence

from chat_svc import convert, metrics, rules
from chat_svc.domain import Cursor, Member, Message, Room
from chat_svc.events import EventHub, Subscription
from chat_svc.history import History
from chat_svc.membership import Membership
from common.db import Database
from common.errors import InvalidArgument, PermissionDenied
from common.tokens import Principal
from parley.chat.v1 import chat_pb2 as pb

log = logging.getLogger(__name__)


class EventStreams:
    """Opens event streams: one user's rooms, or every room for a service."""

    def __init__(
        self,
        hub: EventHub,
        membership: Membership,
        history: History,
        db: Database,
        page: int,
        batch_events: int,
        replay_max: int,
    ) -> None:
        self._hub = hub
        self._replay_max = replay_max  # most messages replayed per room; older ones are paged
        self._membership = membership
        self._history = history
        self._db = db
        self._page = page
        self._batch_events = batch_events

    async def open(
        self, principal: Principal, all_rooms: bool, cursors: Sequence[Cursor]
    ) -> AsyncGenerator[list[pb.Event] | None, None]:
        """Replayed events after each cursor, then None (caught up), then live events, until cancelled."""
        subscription = await self._subscribe(principal, all_rooms, cursors)
        try:
            replayed: dict[int, int] = {}  # room -> the last seq the replay sent
            viewer = 0 if principal.is_service else principal.user_id  # whose `me` the replay sets
            replay_messages = 0
            async for events in self._replay(cursors, replayed, viewer):
                replay_messages += sum(1 for e in events if _created(e))
                yield events
            if cursors:
                metrics.REPLAY_MESSAGES.observe(replay_messages)
            yield None
            while True:
                events = await subscription.next_batch(self._batch_events)
                # A message the replay already sent may come again live (stored during the replay).
                fresh = [e for e in events if not _created(e) or e.message_created.seq > replayed.get(e.room_id, 0)]
                if fresh:
                    yield fresh
        finally:
            self._hub.unsubscribe(subscription)

    async def _subscribe(self, principal: Principal, all_rooms: bool, cursors: Sequence[Cursor]) -> Subscription:
        if len(cursors) > rules.MAX_CURSORS:
            raise InvalidArgument(f"send at most {rules.MAX_CURSORS} cursors")
        if all_rooms:
            if not principal.is_service:
                raise PermissionDenied("all_rooms needs a service token")
            log.info("all-rooms event stream opened for %s", principal.subject)  # one per gateway
            return self._hub.subscribe(None, None)
        user_id = principal.user_id
        # Subscribe before reading the database, so that nothing falls between replay and live:
        # a room joined meanwhile is added by its membership event.
        subscription = self._hub.subscribe(user_id, ())
        try:
            rooms = await self._db.run(self._membership.member_room_ids, user_id)
            strangers = sorted({c.room_id for c in cursors} - rooms)
            if strangers:
                raise PermissionDenied(f"you are not a member of room {strangers[0]}")
        except BaseException:
            self._hub.unsubscribe(subscription)
            raise
        subscription.follow(rooms)
        return subscription

    async def _replay(
        self, cursors: Sequence[Cursor], replayed: dict[int, int], viewer: int
    ) -> AsyncIterator[list[pb.Event]]:
        """Missed messages after each cursor, then every other change after its change number, page by page."""
        unique = {c.room_id: c for c in reversed(cursors)}  # a room named twice: its first cursor
        newest = await self._db.run(self._history.last_seqs, sorted(unique)) if unique else {}
        for cursor in unique.values():
            start = max(cursor.after_seq, newest.get(cursor.room_id, 0) - self._replay_max)
            if start > cursor.after_seq:  # too far behind: the newest replay_max only, and say where they start
                yield [convert.replay_start_event(cursor.room_id, cursor.after_seq, start)]
            async for events in self._missed(cursor.room_id, start, replayed, viewer):
                yield events
            async for events in self._changed(cursor, viewer):
                yield events

    async def _missed(
        self, room_id: int, after_seq: int, replayed: dict[int, int], viewer: int
    ) -> AsyncIterator[list[pb.Event]]:
        after = max(after_seq, 0)
        # Only what is really replayed counts as sent: a cursor past the room's last seq must not
        # hide the live messages that follow.
        replayed[room_id] = 0
        while True:
            messages = await self._db.run(self._history.after, room_id, after, self._page)
            if messages:
                after = replayed[room_id] = messages[-1].seq
                if viewer:
                    messages = await self._db.run(self._history.seen_by, viewer, messages)
                yield [convert.created_event(m) for m in messages]
            if len(messages) < self._page:
                return

    async def _changed(self, cursor: Cursor, viewer: int) -> AsyncIterator[list[pb.Event]]:
        """Everything with a change after the cursor's, in change order, keyset by change: each message's
        newest state (message_updated, or message_deleted for a tombstone), room_updated, role_changed."""
        change = cursor.after_change
        while change > 0:
            changed = await self._db.run(
                self._history.replay_changes, cursor.room_id, cursor.after_seq, change, self._page
            )
            if changed:
                change = changed[-1][0]
                messages = [value for _, value in changed if isinstance(value, Message)]
                if viewer and messages:
                    seen = {m.seq: m for m in await self._db.run(self._history.seen_by, viewer, messages)}
                    changed = [(n, seen[v.seq] if isinstance(v, Message) else v) for n, v in changed]
                yield [_replayed_event(cursor.room_id, value) for _, value in changed]
            if len(changed) < self._page:
                return


def _replayed_event(room_id: int, value: Message | Room | Member) -> pb.Event:
    if isinstance(value, Message):
        return convert.updated_event(value)
    if isinstance(value, Room):
        return convert.room_event(value)
    return convert.role_event(room_id, value, 0)  # who changed it is not kept; the live event said


def _created(event: pb.Event) -> bool:
    return event.HasField("message_created")
