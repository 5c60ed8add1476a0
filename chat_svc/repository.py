"""chat_db's storage side: the hand-written SQL, the queries several concepts share, rows to domain values.

The send path's statements are plain SQL with the (integer) ids and counts written in: building and
compiling the same statements as SQLAlchemy expressions cost more CPU than MariaDB spent running
them (docs/performance.md). A batch costs the same few round trips whether it holds one room or a
hundred: three SELECTs, one UPDATE numbering every room, one multi-row INSERT, one UPDATE moving
every sender's read marker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

import orjson
from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from chat_svc import domain, models
from common.db import PreciseDateTime
from common.timestamps import utcnow

MESSAGES = cast(Table, models.Message.__table__)  # Core inserts: no ORM bookkeeping for rows never loaded
Key = tuple[int, int, str]  # (room_id, sender_id, client_msg_id): what makes a send idempotent
_CHUNK = 1000  # ids per IN (...) list

# -- rows to domain values -------------------------------------------------------------------------


def room_of(row: models.Room) -> domain.Room:
    """A rooms row as a Room."""
    direct = tuple(int(part) for part in row.direct_key.split(":")) if row.direct_key else ()
    return domain.Room(
        row.id, row.kind, row.name, row.topic, row.created_by, row.created_at,
        row.last_seq, row.last_change, row.member_count, direct,
        room_mentions=row.room_mentions, settings_change=row.settings_change,
    )  # fmt: skip


def member_of(row: models.Member) -> domain.Member:
    """A members row as a Member."""
    return domain.Member(row.user_id, row.role, row.joined_at, row.role_change)


def message_of(row: models.Message) -> domain.Message:
    """A messages row as a Message; a deleted one is a tombstone without its body."""
    deleted = row.deleted_at is not None
    return domain.Message(
        row.room_id, row.seq, row.change, row.sender_id, row.client_msg_id,
        "" if deleted else row.body, row.created_at, row.edited_at, deleted,
        reactions=() if deleted else reactions_of(row.reactions), deleted_by=row.deleted_by or 0,
    )  # fmt: skip


# -- the send path ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    """What chat_db holds that a batch of sends depends on."""

    kinds: dict[int, int]  # room id -> kind, for the rooms that exist
    members: set[tuple[int, int]]  # (room id, user id) of the senders who are members
    existing: dict[Key, domain.Message]  # messages already stored under a send's key


def known_for(s: Session, sends: Sequence[domain.Send]) -> Known:
    """Rooms, memberships and already stored messages of these sends (three SELECTs)."""
    room_ids = sorted({send.room_id for send in sends})
    users = {send.user_id for send in sends}
    room, member = models.Room, models.Member
    kinds = {rid: kind for rid, kind in s.execute(select(room.id, room.kind).where(room.id.in_(room_ids)))}
    members = {
        (rid, uid)
        for rid, uid in s.execute(
            select(member.room_id, member.user_id).where(member.room_id.in_(room_ids), member.user_id.in_(users))
        )
    }
    stored = s.scalars(
        select(models.Message).where(
            models.Message.room_id.in_(room_ids),
            models.Message.sender_id.in_(users),
            models.Message.client_msg_id.in_({send.client_msg_id for send in sends}),
        )
    )
    existing = {(m.room_id, m.sender_id, m.client_msg_id): message_of(m) for m in stored}
    return Known(kinds, members, existing)


def number_messages(s: Session, counts: dict[int, int], now: datetime) -> dict[int, tuple[int, int]]:
    """Take `count` new seqs and changes in each room; the rooms' new (last_seq, last_change).

    The UPDATE takes the rooms' row locks in primary-key order, as every writer does, so concurrent
    batches cannot deadlock on them; the counters roll back with the transaction, leaving no gap.
    """
    by = "CASE id " + " ".join(f"WHEN {int(r)} THEN {int(n)}" for r, n in counts.items()) + " END"
    ids = ",".join(str(int(r)) for r in sorted(counts))
    statement = (
        f"UPDATE rooms SET last_seq = last_seq + {by}, last_change = last_change + {by}, "  # noqa: S608 - integers only
        f"last_message_at = :now WHERE id IN ({ids})"
    )
    s.execute(text(statement).bindparams(bindparam("now", now, type_=PreciseDateTime)))
    rows = s.execute(
        select(models.Room.id, models.Room.last_seq, models.Room.last_change).where(models.Room.id.in_(sorted(counts)))
    )
    return {room_id: (last_seq, last_change) for room_id, last_seq, last_change in rows}


def insert_messages(s: Session, messages: Sequence[domain.Message]) -> None:
    """Store new messages: one multi-row INSERT."""
    s.execute(
        insert(MESSAGES),
        [
            {"room_id": m.room_id, "seq": m.seq, "change": m.change, "sender_id": m.sender_id,
             "client_msg_id": m.client_msg_id, "body": m.body, "created_at": m.created_at}
            for m in messages
        ],
    )  # fmt: skip


def move_own_markers(s: Session, marks: dict[tuple[int, int], int]) -> None:
    """Move each (room, user)'s read marker forward to seq (never back): one UPDATE for them all."""
    cases = " ".join(
        f"WHEN room_id = {int(r)} AND user_id = {int(u)} AND last_read_seq < {int(seq)} THEN {int(seq)}"
        for (r, u), seq in marks.items()
    )
    pairs = ",".join(f"({int(r)},{int(u)})" for r, u in sorted(marks))
    statement = (
        f"UPDATE members SET last_read_seq = CASE {cases} ELSE last_read_seq END "  # noqa: S608 - integers only
        f"WHERE (room_id, user_id) IN ({pairs})"
    )
    s.execute(text(statement))


# -- changes and read markers ----------------------------------------------------------------------


def next_change(s: Session, room_id: int) -> tuple[int, datetime]:
    """Take the room's next change number under its row lock, for an edit or delete; and now."""
    s.execute(update(models.Room).where(models.Room.id == room_id).values(last_change=models.Room.last_change + 1))
    change = s.execute(select(models.Room.last_change).where(models.Room.id == room_id).with_for_update()).scalar_one()
    return change, utcnow()


def advance_marker(s: Session, room_id: int, user_id: int, seq: int) -> None:
    """Move one member's read marker forward to seq (never back)."""
    s.execute(
        update(models.Member)
        .where(models.Member.room_id == room_id, models.Member.user_id == user_id, models.Member.last_read_seq < seq)
        .values(last_read_seq=seq)
    )


def _unread(user_id: int) -> ColumnElement[bool]:
    # Unread: other people's messages that are not deleted (the marker's side is the caller's).
    return and_(models.Message.sender_id != user_id, models.Message.deleted_at.is_(None))


def unread_in(s: Session, room_id: int, user_id: int, after_seq: int) -> int:
    """How many messages of one room the user has not read, past their marker at after_seq."""
    count = s.scalar(
        select(func.count(models.Message.seq)).where(
            models.Message.room_id == room_id, models.Message.seq > after_seq, _unread(user_id)
        )
    )
    return int(count or 0)


def unread_counts(s: Session, user_id: int) -> dict[int, int]:
    """Unread messages per room of the user, past each room's marker (rooms with none are left out)."""
    rows = s.execute(
        select(models.Member.room_id, func.count(models.Message.seq))
        .join(
            models.Message,
            and_(
                models.Message.room_id == models.Member.room_id,
                models.Message.seq > models.Member.last_read_seq,
                _unread(user_id),
            ),
        )
        .where(models.Member.user_id == user_id)
        .group_by(models.Member.room_id)
    )
    return {room_id: count for room_id, count in rows}


def last_seqs(s: Session, room_ids: Sequence[int]) -> dict[int, int]:
    """The newest seq of each of these rooms that exists."""
    found: dict[int, int] = {}
    for chunk in _chunks(room_ids):
        rows = s.execute(select(models.Room.id, models.Room.last_seq).where(models.Room.id.in_(chunk)))
        found.update((room_id, last) for room_id, last in rows)
    return found


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


# -- reactions and moderation ----------------------------------------------------------------------


def reactions_of(aggregate: str | None) -> tuple[domain.Reaction, ...]:
    """messages.reactions, the JSON aggregate [{"e": emoji, "n": count, "u": [first user ids]}], as Reactions."""
    if not aggregate:
        return ()
    return tuple(domain.Reaction(r["e"], r["n"], tuple(r["u"])) for r in orjson.loads(aggregate))


def reactions_json(reactions: Sequence[domain.Reaction]) -> str | None:
    """Reactions as messages.reactions stores them (NULL for none)."""
    if not reactions:
        return None
    return orjson.dumps([{"e": r.emoji, "n": r.count, "u": list(r.user_ids)} for r in reactions]).decode()


def first_reactors(s: Session, room_id: int, seq: int, emoji: str, limit: int) -> tuple[int, ...]:
    """The first users who reacted to a message with an emoji, in the order they did."""
    reaction = models.Reaction
    rows = s.scalars(
        select(reaction.user_id)
        .where(reaction.room_id == room_id, reaction.seq == seq, reaction.emoji == emoji)
        .order_by(reaction.created_at, reaction.user_id)
        .limit(limit)
    )
    return tuple(rows)


def drop_reactions(s: Session, room_id: int, seq: int) -> None:
    """Forget every reaction to a message (it became a tombstone)."""
    reaction = models.Reaction
    s.execute(delete(reaction).where(reaction.room_id == room_id, reaction.seq == seq))


def seen_by(s: Session, user_id: int, messages: Sequence[domain.Message]) -> list[domain.Message]:
    """The messages as one user sees them: `me` set on the reactions they made (one query per room)."""
    reacted = [m for m in messages if m.reactions]
    if not reacted or user_id <= 0:
        return list(messages)
    reaction = models.Reaction
    mine: set[tuple[int, int, str]] = set()
    for room_id in sorted({m.room_id for m in reacted}):
        seqs = [m.seq for m in reacted if m.room_id == room_id]
        for chunk in _chunks(seqs):
            rows = s.execute(
                select(reaction.seq, reaction.emoji).where(
                    reaction.room_id == room_id, reaction.user_id == user_id, reaction.seq.in_(chunk)
                )
            )
            mine.update((room_id, seq, emoji) for seq, emoji in rows)
    return [_with_me(m, mine) if m.reactions else m for m in messages]


def _with_me(message: domain.Message, mine: set[tuple[int, int, str]]) -> domain.Message:
    reactions = tuple(replace(r, me=(message.room_id, message.seq, r.emoji) in mine) for r in message.reactions)
    return replace(message, reactions=reactions)
