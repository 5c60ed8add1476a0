"""History: pages of a room's messages, and what a stream replays or a gap fill reads.

Blocking: runs on the Database's worker threads. Every read walks the (room_id, seq) primary key
or the (room_id, change) index: keyset pages, never OFFSET.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, or_, select
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
            root = _thread_root(s, room.id, thread_root_seq) if thread_root_seq else None
            if root is None:
                timeline = or_(Row.thread_root_seq == 0, Row.also_in_room.is_(True))
                rows = _walk(s, select(Row).where(Row.room_id == room.id, timeline), anchor_seq, forward, size + 1)
            else:
                # The replies walk ix_messages_thread (room, root, seq); the root, older than every
                # reply, goes first. One query for both with OR walked the room's whole primary key.
                replies = select(Row).where(Row.room_id == room.id, Row.thread_root_seq == root.seq)
                rows = _walk(s, replies, anchor_seq, forward, size + 1)
                if forward and root.seq > anchor_seq:
                    rows = [root, *rows][: size + 1]
                elif not forward and (not anchor_seq or root.seq < anchor_seq) and len(rows) <= size:
                    rows.append(root)
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


def _walk(s: Session, statement: Select[Row], anchor_seq: int, forward: bool, limit: int) -> list[Row]:
    """Up to limit rows of statement after (forward, ascending) or before (descending) anchor_seq."""
    if forward:
        statement = statement.where(Row.seq > anchor_seq).order_by(Row.seq)
    else:
        if anchor_seq:
            statement = statement.where(Row.seq < anchor_seq)
        statement = statement.order_by(Row.seq.desc())
    return list(s.scalars(statement.limit(limit)))


def _thread_root(s: Session, room_id: int, seq: int) -> Row:
    """The root of the thread that seq is in (seq itself, or its root when it is a reply); NotFound for none."""
    named = s.get(Row, (room_id, seq))
    if named is None:
        raise NotFound(f"room {room_id} has no message {seq}")
    if not named.thread_root_seq:  # threads are one level deep
        return named
    root = s.get(Row, (room_id, named.thread_root_seq))
    if root is None:
        raise NotFound(f"room {room_id} has no message {named.thread_root_seq}")
    return root
