"""History: pages of a room's messages, and what a stream replays or a gap fill reads.

Blocking: runs on the Database's worker threads. Every read walks the (room_id, seq) primary key
or the (room_id, change) index: keyset pages, never OFFSET.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from chat_svc import access, repository, rules
from chat_svc.domain import Member, Message, Room
from chat_svc.models import Member as MemberRow, Message as Row, Room as RoomRow
from common.db import Database
from common.errors import InvalidArgument, NotFound

# One change of a room for the replay, by its change number: a message, the room's settings, a member's role.
Change = tuple[int, Message | Room | Member]


class History:
    """Reads of stored messages over one chat_db."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def page(
        self, user_id: int, room_id: int, anchor_seq: int, forward: bool, limit: int, thread_root_seq: int = 0
    ) -> tuple[list[Message], bool]:
        """A member's page of history after (forward) or before anchor_seq, ascending; and whether more follow.

        Backward from anchor 0 reads the newest messages. thread_root_seq 0 reads the main timeline
        (messages that are not replies, and replies also sent to the room); a root's seq reads its
        thread: the root, then its replies (a reply's seq reads the thread it is in).
        """
        size = rules.page_size(limit)
        if anchor_seq < 0:
            raise InvalidArgument("anchor_seq must not be negative")
        if thread_root_seq < 0:
            raise InvalidArgument("thread_root_seq must not be negative (0 = the main timeline)")
        with self._db.sessions() as s:
            room, _ = access.member_room(s, room_id, user_id)
            statement = select(Row).where(Row.room_id == room.id, _timeline(s, room.id, thread_root_seq))
            if forward:
                statement = statement.where(Row.seq > anchor_seq).order_by(Row.seq)
            else:
                if anchor_seq:
                    statement = statement.where(Row.seq < anchor_seq)
                statement = statement.order_by(Row.seq.desc())
            rows = list(s.scalars(statement.limit(size + 1)))
            page = repository.messages_of(s, sorted(rows[:size], key=lambda m: m.seq))
            page = repository.seen_by(s, user_id, page)  # reactions and moderation: `me` for the caller
        return page, len(rows) > size

    def after(self, room_id: int, after_seq: int, limit: int) -> list[Message]:
        """Up to limit messages with seq > after_seq, ascending: a stream's replay, a gap's fill."""
        with self._db.sessions() as s:
            rows = s.scalars(
                select(Row).where(Row.room_id == room_id, Row.seq > after_seq).order_by(Row.seq).limit(limit)
            )
            return repository.messages_of(s, rows)

    def last_seqs(self, room_ids: Sequence[int]) -> dict[int, int]:
        """The newest seq of each of these rooms."""
        with self._db.sessions() as s:
            return repository.last_seqs(s, room_ids)

    # -- reactions and moderation -----------------------------------------------------------------

    def seen_by(self, user_id: int, messages: Sequence[Message]) -> list[Message]:
        """Messages with `me` set on the user's own reactions (a replay page, as the user sees it)."""
        with self._db.sessions() as s:
            return repository.seen_by(s, user_id, messages)

    def replay_changes(self, room_id: int, up_to_seq: int, after_change: int, limit: int) -> list[Change]:
        """Up to limit changes of a room after after_change, by change: messages up to up_to_seq in their
        newest state, the room's settings, members' roles (resume, docs/conversations.md)."""
        with self._db.sessions() as s:
            messages = s.scalars(
                select(Row)
                .where(Row.room_id == room_id, Row.change > after_change, Row.seq <= up_to_seq)
                .order_by(Row.change)
                .limit(limit)
            )
            found: list[Change] = [(m.change, m) for m in repository.messages_of(s, messages)]
            room = s.get(RoomRow, room_id)
            if room is not None and room.settings_change > after_change:
                found.append((room.settings_change, repository.room_of(room)))
            members = s.scalars(
                select(MemberRow)
                .where(MemberRow.room_id == room_id, MemberRow.role_change > after_change)
                .order_by(MemberRow.role_change)
                .limit(limit)
            )
            found.extend((m.role_change, repository.member_of(m)) for m in members)
        return sorted(found, key=lambda change: change[0])[:limit]


# -- threads --


def _timeline(s: Session, room_id: int, thread_root_seq: int) -> ColumnElement[bool]:
    """Which of a room's messages a page reads: the main timeline (0), or one thread (NotFound for no root)."""
    if not thread_root_seq:
        return or_(Row.thread_root_seq == 0, Row.also_in_room.is_(True))
    root = s.get(Row, (room_id, thread_root_seq))
    if root is None:
        raise NotFound(f"room {room_id} has no message {thread_root_seq}")
    seq = root.thread_root_seq or root.seq  # threads are one level deep
    # The root, then its replies: ix_messages_thread holds the replies in seq order.
    return or_(Row.seq == seq, Row.thread_root_seq == seq)
