"""chat_db's storage side: the hand-written SQL, the queries several concepts share, rows to domain values.

The send path's statements are plain SQL with the (integer) ids and counts written in: building and
compiling the same statements as SQLAlchemy expressions cost more CPU than MariaDB spent running
them (docs/performance.md). A batch costs the same few round trips whether it holds one room or a
hundred: three SELECTs, one UPDATE numbering every room, one multi-row INSERT, one UPDATE moving
every sender's read marker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    table,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from chat_svc import domain, models, threads, words
from common.db import PreciseDateTime
from common.limits import COUNT_MAX
from common.timestamps import utcnow

MESSAGES = cast(Table, models.Message.__table__)  # Core inserts: no ORM bookkeeping for rows never loaded
Key = tuple[int, int, str]  # (room_id, sender_id, client_msg_id): what makes a send idempotent
_CHUNK = 1000  # ids per IN (...) list
_COUNTED = 100  # rooms per statement of bounded counts (SQLite takes at most 500 parts in a UNION)

# -- rows to domain values -------------------------------------------------------------------------


def room_of(row: models.Room) -> domain.Room:
    """A rooms row as a Room."""
    direct = tuple(int(part) for part in row.direct_key.split(":")) if row.direct_key else ()
    return domain.Room(
        row.id, row.kind, row.name, row.topic, row.created_by, row.created_at,
        row.last_seq, row.last_change, row.member_count, direct,
        room_mentions=row.room_mentions, settings_change=row.settings_change, last_message_at=row.last_message_at,
        archived_at=row.archived_at,
    )  # fmt: skip


def member_of(row: models.Member) -> domain.Member:
    """A members row as a Member."""
    return domain.Member(row.user_id, row.role, row.joined_at, row.role_change)


def invitation_of(row: models.Invitation, room: models.Room) -> domain.Invitation:
    """An invitations row (and its room's) as an Invitation."""
    return domain.Invitation(room_of(room), row.user_id, row.inviter_id, row.created_at)


def take_invitation(s: Session, room_id: int, user_id: int) -> models.Invitation | None:
    """Delete the user's invitation to the room (they are joining); the row when it was pending, else None."""
    row = s.get(models.Invitation, (room_id, user_id))
    if row is None:
        return None
    s.delete(row)
    return row if row.declined_at is None else None


def message_of(row: models.Message) -> domain.Message:
    """A messages row as a Message; a deleted one is a tombstone without its body, reactions or mentions."""
    deleted = row.deleted_at is not None
    return domain.Message(
        row.room_id, row.seq, row.change, row.sender_id, row.client_msg_id,
        "" if deleted else row.body, row.created_at, row.edited_at, deleted,
        thread_root_seq=row.thread_root_seq,
        also_in_room=row.also_in_room,
        thread=threads.shown(summary_of(row)),
        reactions=() if deleted else reactions_of(row.reactions),
        deleted_by=row.deleted_by or 0,
        mentioned_user_ids=() if deleted else ids_of(row.mentions),
        mentions_room=row.mentions_room and not deleted,
        file_count=0 if deleted else row.file_count,
        taken_down=deleted and row.taken_down,
    )  # fmt: skip


def messages_of(s: Session, rows: Iterable[models.Message]) -> list[domain.Message]:
    """Messages rows as Messages with their files (one query for those that have some, none otherwise)."""
    return with_files(s, [message_of(row) for row in rows])


def summary_of(row: models.Message) -> domain.ThreadSummary:
    """The thread summary columns of a messages row (all zero for a message without replies)."""
    return domain.ThreadSummary(row.reply_count, row.last_reply_seq, row.last_reply_at, ids_of(row.thread_user_ids))


def ids_of(stored: str | None) -> tuple[int, ...]:
    """User ids from their stored form ("3,1": thread participants, mentioned members)."""
    return tuple(int(part) for part in stored.split(",")) if stored else ()


def ids_text(ids: Sequence[int]) -> str | None:
    """The stored form of user ids, None when there are none."""
    return ",".join(str(int(i)) for i in ids) or None


# -- the send path ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    """What chat_db holds that a batch of sends depends on."""

    kinds: dict[int, int]  # room id -> kind, for the rooms that exist
    members: set[tuple[int, int]]  # (room id, user id) of the senders who are members
    existing: dict[Key, domain.Message]  # messages already stored under a send's key
    room_mentions: frozenset[int] = frozenset()  # rooms where @room mentions everyone
    archived: frozenset[int] = frozenset()  # rooms that are archived (read-only)


def known_for(s: Session, sends: Sequence[domain.Send]) -> Known:
    """Rooms, memberships and already stored messages of these sends (three SELECTs).

    Memberships and keys are asked for as the exact tuples the sends name: with `room_id IN (..)
    AND user_id IN (..)` MariaDB took one room's id as a constant and read every member of the room
    (2,000 rows per batch in a big channel), and the cross product of three IN lists probed the
    unique key once per combination.
    """
    room_ids = sorted({send.room_id for send in sends})
    room = models.Room
    rooms = s.execute(
        select(room.id, room.kind, room.room_mentions, room.archived_at).where(room.id.in_(room_ids))
    ).all()
    kinds = {rid: kind for rid, kind, _, _ in rooms}
    members = members_among(s, ((send.room_id, send.user_id) for send in sends))
    m = models.Message
    keys = sorted({(send.room_id, send.user_id, send.client_msg_id) for send in sends})
    stored = s.scalars(select(m).where(tuple_(m.room_id, m.sender_id, m.client_msg_id).in_(keys)))
    existing = {(m.room_id, m.sender_id, m.client_msg_id): m for m in messages_of(s, stored)}
    return Known(
        kinds,
        members,
        existing,
        frozenset(rid for rid, _, everyone, _ in rooms if everyone),
        frozenset(rid for rid, _, _, archived_at in rooms if archived_at is not None),
    )


def number_messages(
    s: Session,
    counts: dict[int, int],
    now: datetime,
    changes: dict[int, int] | None = None,
    timeline: dict[int, int] | None = None,
) -> dict[int, tuple[int, int, int]]:
    """Take `count` new seqs and changes in each room; the rooms' new (last_seq, last_change, timeline_count).

    `changes`, when given, is how many changes each room takes instead: its new messages and the
    thread roots their replies touch (each root's summary change takes its own number).
    `timeline`, when given, is how many of the new messages are in the main timeline (what unread
    counts); otherwise all of them are.

    The UPDATE takes the rooms' row locks in primary-key order, as every writer does, so concurrent
    batches cannot deadlock on them; the counters roll back with the transaction, leaving no gap.
    """
    by = _cases(counts)
    by_change = by if changes is None else _cases(changes)
    by_timeline = by if timeline is None else _cases(timeline)
    ids = ",".join(str(int(r)) for r in sorted(counts))
    statement = (
        f"UPDATE rooms SET last_seq = last_seq + {by}, last_change = last_change + {by_change}, "  # noqa: S608 - integers only
        f"timeline_count = timeline_count + {by_timeline}, last_message_at = :now WHERE id IN ({ids})"
    )
    s.execute(text(statement).bindparams(bindparam("now", now, type_=PreciseDateTime)))
    room = models.Room
    rows = s.execute(
        select(room.id, room.last_seq, room.last_change, room.timeline_count).where(room.id.in_(sorted(counts)))
    )
    return {room_id: (last_seq, last_change, count) for room_id, last_seq, last_change, count in rows}


def _cases(counts: dict[int, int]) -> str:
    return "CASE id " + " ".join(f"WHEN {int(r)} THEN {int(n)}" for r, n in counts.items()) + " END"


def insert_messages(
    s: Session, messages: Sequence[domain.Message], conversation: bool = False, attaching: bool = False
) -> None:
    """Store new messages: one multi-row INSERT.

    conversation: some are replies or mention someone, so the thread and mention columns are
    written too (left to their defaults otherwise: the common send stays as lean as before).
    attaching: some attach files, so file_count is written too.
    """
    rows = [
        {"room_id": m.room_id, "seq": m.seq, "change": m.change, "sender_id": m.sender_id,
         "client_msg_id": m.client_msg_id, "body": m.body, "created_at": m.created_at}
        for m in messages
    ]  # fmt: skip
    if conversation:
        for row, m in zip(rows, messages, strict=True):
            row |= {"thread_root_seq": m.thread_root_seq, "also_in_room": m.also_in_room,
                    "mentions": ids_text(m.mentioned_user_ids), "mentions_room": m.mentions_room}  # fmt: skip
    if attaching:
        for row, m in zip(rows, messages, strict=True):
            row["file_count"] = m.file_count
    s.execute(insert(MESSAGES), rows)


def drop_member(s: Session, member: models.Member) -> None:
    """Delete a membership (a leave or a removal) and count it out of its room."""
    s.delete(member)
    s.execute(
        update(models.Room).where(models.Room.id == member.room_id).values(member_count=models.Room.member_count - 1)
    )


def move_own_markers(s: Session, marks: dict[tuple[int, int], tuple[int, int]]) -> None:
    """Move each (room, user)'s read marker forward to (seq, read_count) (never back): one UPDATE for them all."""
    moved = {(r, u): f"room_id = {int(r)} AND user_id = {int(u)} AND last_read_seq < {int(seq)}"
             for (r, u), (seq, _) in marks.items()}  # fmt: skip
    seqs = " ".join(f"WHEN {moved[key]} THEN {int(seq)}" for key, (seq, _) in marks.items())
    counts = " ".join(f"WHEN {moved[key]} THEN {int(count)}" for key, (_, count) in marks.items())
    pairs = ",".join(f"({int(r)},{int(u)})" for r, u in sorted(marks))
    # read_count first: MySQL assigns left to right, and its test reads last_read_seq before it moves.
    statement = (
        f"UPDATE members SET read_count = CASE {counts} ELSE read_count END, "  # noqa: S608 - integers only
        f"last_read_seq = CASE {seqs} ELSE last_read_seq END WHERE (room_id, user_id) IN ({pairs})"
    )
    s.execute(text(statement))


# -- changes and read markers ----------------------------------------------------------------------


def next_change(s: Session, room_id: int) -> tuple[int, datetime]:
    """Take the room's next change number under its row lock, for an edit or delete; and now."""
    s.execute(update(models.Room).where(models.Room.id == room_id).values(last_change=models.Room.last_change + 1))
    change = s.execute(select(models.Room.last_change).where(models.Room.id == room_id).with_for_update()).scalar_one()
    return change, utcnow()


def advance_marker(s: Session, room_id: int, user_id: int, seq: int, read_count: int) -> None:
    """Move one member's read marker forward to seq (never back), with the timeline messages up to it."""
    s.execute(
        update(models.Member)
        .where(models.Member.room_id == room_id, models.Member.user_id == user_id, models.Member.last_read_seq < seq)
        .values(read_count=read_count, last_read_seq=seq)
    )


def unread_of(room: models.Room, read_count: int) -> int:
    """How many messages of the room a member with this read_count has not read: a subtraction, no count."""
    return max(0, room.timeline_count - read_count)


def read_count_at(s: Session, room: models.Room, member: models.Member, seq: int) -> int:
    """The room's live timeline messages at or below seq (seq past the member's marker, at most last_seq).

    Up to the end it is the room's counter; otherwise a count of the shorter side of seq: what the
    member has just read past their marker, or what is left after seq.
    """
    if seq >= room.last_seq:
        return room.timeline_count
    if seq - member.last_read_seq <= room.last_seq - seq:
        return member.read_count + _in_timeline_between(s, room.id, member.last_read_seq, seq)
    return room.timeline_count - _in_timeline_between(s, room.id, seq, room.last_seq)


def _in_timeline_between(s: Session, room_id: int, after_seq: int, up_to_seq: int) -> int:
    m = models.Message
    count = s.scalar(
        select(func.count(m.seq)).where(
            m.room_id == room_id,
            m.seq > after_seq,
            m.seq <= up_to_seq,
            m.deleted_at.is_(None),
            or_(m.thread_root_seq == 0, m.also_in_room.is_(True)),
        )
    )
    return int(count or 0)


def uncount(s: Session, room_id: int, seq: int) -> None:
    """A live timeline message was deleted: out of its room's timeline_count, and of the read_count of
    every member whose marker is at or past it (one UPDATE over the room's members, not its messages)."""
    s.execute(
        update(models.Room).where(models.Room.id == room_id).values(timeline_count=models.Room.timeline_count - 1)
    )
    s.execute(
        update(models.Member)
        .where(models.Member.room_id == room_id, models.Member.last_read_seq >= seq)
        .values(read_count=models.Member.read_count - 1)
    )


def _count_of(room_id: int, rows: Select[int]) -> Select[int, int]:
    """(room_id, how many rows the bounded select gives)."""
    return select(literal(room_id, BigInteger).label("room_id"), func.count().label("n")).select_from(rows.subquery())


def _counts(s: Session, parts: list[Select[int, int]]) -> dict[int, int]:
    """The per-room counts, _COUNTED rooms per statement (UNION ALL of bounded counts); rooms with 0 left out."""
    found: dict[int, int] = {}
    for start in range(0, len(parts), _COUNTED):
        chunk = parts[start : start + _COUNTED]
        statement = union_all(*chunk) if len(chunk) > 1 else chunk[0]
        found.update((int(room_id), int(n)) for room_id, n in s.execute(statement) if n)
    return found


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


# -- threads and mentions --------------------------------------------------------------------------

MENTIONS = cast(Table, models.Mention.__table__)
ROOM_MENTION = 0  # the user id that stands for @room in the mentions table


def thread_roots(s: Session, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], threads.Root]:
    """The messages (room, seq) that sends reply to, and the roots of those that are replies, locked.

    Locked (FOR UPDATE) before the rooms' counters, as edits and deletes lock a message row before
    its room's, so that the summaries are read and written by one writer at a time. A reply to a
    reply costs a second SELECT, for the roots it points to.
    """
    found = _roots(s, set(wanted))
    deeper = {(r.room_id, r.thread_root_seq) for r in found.values() if r.thread_root_seq} - found.keys()
    if deeper:
        found |= _roots(s, deeper)
    return found


def _roots(s: Session, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], threads.Root]:
    m = models.Message
    rows = s.execute(
        select(m.room_id, m.seq, m.thread_root_seq, m.reply_count, m.last_reply_seq, m.last_reply_at, m.thread_user_ids)
        .where(tuple_(m.room_id, m.seq).in_(sorted(pairs)))
        .order_by(m.room_id, m.seq)
        .with_for_update()
    )
    return {
        (room_id, seq): threads.Root(room_id, seq, root, domain.ThreadSummary(count, last, at, ids_of(users)))
        for room_id, seq, root, count, last, at, users in rows
    }


def root_of(s: Session, room_id: int, seq: int) -> threads.Root | None:
    """One thread's root, locked (a deleted reply's), or None."""
    return _roots(s, {(room_id, seq)}).get((room_id, seq))


def update_roots(s: Session, changes: Sequence[threads.ThreadChange]) -> None:
    """Write roots' new summaries and change numbers."""
    m = models.Message
    statement = (
        update(MESSAGES)
        .where(m.room_id == bindparam("r"), m.seq == bindparam("s"))
        .values(
            change=bindparam("c"),
            reply_count=bindparam("n"),
            last_reply_seq=bindparam("last"),
            last_reply_at=bindparam("at"),
            thread_user_ids=bindparam("users"),
        )
    )
    s.execute(
        statement,
        [
            {"r": c.room_id, "s": c.root_seq, "c": c.change, "n": c.summary.reply_count,
             "last": c.summary.last_reply_seq, "at": c.summary.last_reply_at,
             "users": ids_text(c.summary.participant_ids)}
            for c in changes
        ],
    )  # fmt: skip


def members_among(s: Session, pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of these (room id, user id) are memberships."""
    wanted = sorted(set(pairs))
    if not wanted:
        return set()
    member = models.Member
    rows = s.execute(select(member.room_id, member.user_id).where(tuple_(member.room_id, member.user_id).in_(wanted)))
    return {(room_id, user_id) for room_id, user_id in rows}


def insert_mentions(s: Session, messages: Sequence[domain.Message]) -> None:
    """The mentions rows of these messages: one per mentioned member, and user 0 for @room."""
    rows = [
        {"room_id": m.room_id, "user_id": user_id, "seq": m.seq, "sender_id": m.sender_id}
        for m in messages
        for user_id in ((ROOM_MENTION,) if m.mentions_room else ()) + m.mentioned_user_ids
    ]
    if rows:
        s.execute(insert(MENTIONS), rows)


def drop_mentions(s: Session, room_id: int, seq: int) -> None:
    """Forget a message's mentions (it was deleted, or edited: insert_mentions follows)."""
    s.execute(delete(MENTIONS).where(MENTIONS.c.room_id == room_id, MENTIONS.c.seq == seq))


def _mentioning(user_id: int) -> ColumnElement[bool]:
    # Mentions of the user or of @room by someone else, whom the user has not blocked (a blocked
    # user's @mentions do not count or notify); deleted messages' rows are gone.
    mention, block = models.Mention, models.Block
    blocked = select(block.blocked_id).where(block.user_id == user_id)
    return and_(
        mention.user_id.in_((user_id, ROOM_MENTION)), mention.sender_id != user_id, mention.sender_id.not_in(blocked)
    )


def mentions_in(s: Session, room_id: int, user_id: int, after_seq: int) -> int:
    """How many messages of one room mention the user (or @room) past their marker at after_seq (at most COUNT_MAX)."""
    return mention_counts(s, user_id, {room_id: after_seq}).get(room_id, 0)


def mention_counts(s: Session, user_id: int, markers: Mapping[int, int]) -> dict[int, int]:
    """Messages mentioning the user (or @room) per room past its marker (room id -> marker), at most COUNT_MAX each.

    Rooms with none are left out. DISTINCT with LIMIT stops at COUNT_MAX messages (a message may
    name the user and @room: two rows), so the count reads no more of the key than that.
    """
    mention = models.Mention

    def counted(room_id: int, marker: int) -> Select[int, int]:
        named = select(mention.seq).where(mention.room_id == room_id, mention.seq > marker, _mentioning(user_id))
        return _count_of(room_id, named.distinct().limit(COUNT_MAX))

    return _counts(s, [counted(room_id, marker) for room_id, marker in sorted(markers.items())])


# -- search ----------------------------------------------------------------------------------------
#
# One query on both engines; only the match itself differs. SQLite: the FTS5 table messages_fts
# (migration 0004), contentless and kept by triggers, each row keyed by its message's (room_id, seq)
# packed into the FTS rowid, because VACUUM may renumber the implicit rowids of messages (whose key
# is composite). MySQL/MariaDB: the InnoDB FULLTEXT index on messages.body, in boolean mode.

FTS_TABLE = models.FTS_TABLE
FTS_SEQ_BITS = 32  # rowid = room_id << 32 | seq: rooms below 2**31, seqs below 2**32


@dataclass(frozen=True)
class WordIndex:
    """Which words the engine's index holds: a word it leaves out cannot be asked for (MySQL would find nothing)."""

    min_chars: int = 1
    stopwords: frozenset[str] = frozenset()
    max_chars: int = 1 << 30

    def holds(self, word: str) -> bool:
        """Whether the index has this (folded) word, when a message has it."""
        return self.min_chars <= len(word) <= self.max_chars and word not in self.stopwords


@dataclass(frozen=True)
class Wanted:
    """Which messages a search reads: a member's rooms (or one of them), one sender, a time range."""

    user_id: int
    room_id: int = 0
    sender_id: int = 0
    since: datetime | None = None
    until: datetime | None = None


SearchKey = tuple[datetime, int, int]  # (created_at, room_id, seq): search's order, newest first


def word_index(s: Session) -> WordIndex:
    """The index's word rules: none on SQLite; InnoDB's token sizes and stopword list."""
    if s.get_bind().dialect.name == "sqlite":
        return WordIndex()
    min_chars, max_chars, enabled, table = s.execute(
        text(
            "SELECT @@innodb_ft_min_token_size, @@innodb_ft_max_token_size, @@innodb_ft_enable_stopword,"
            " @@innodb_ft_server_stopword_table"
        )
    ).one()
    if not enabled:
        return WordIndex(int(min_chars), max_chars=int(max_chars))
    if table:  # "database/table", set by the operator
        schema, name = (f"`{part.replace('`', '``')}`" for part in str(table).split("/", 1))
        rows = s.scalars(text(f"SELECT value FROM {schema}.{name}"))  # noqa: S608 - the server's own setting
    else:
        rows = s.scalars(text("SELECT value FROM information_schema.INNODB_FT_DEFAULT_STOPWORD"))
    return WordIndex(int(min_chars), frozenset(words.fold(str(row)) for row in rows), int(max_chars))


def search_messages(
    s: Session, terms: words.Terms, index: WordIndex, wanted: Wanted, after: SearchKey | None, limit: int
) -> list[models.Message]:
    """Up to limit live messages with every word (the last as a prefix), newest first, after `after`.

    Membership is part of the query (the join on members), so a room the caller left is never read.
    """
    m, member = models.Message, models.Member
    statement = select(m).join(member, and_(member.room_id == m.room_id, member.user_id == wanted.user_id))
    if s.get_bind().dialect.name == "sqlite":
        fts = table(FTS_TABLE, column("rowid", BigInteger))
        mask = (1 << FTS_SEQ_BITS) - 1
        statement = statement.join(
            fts, and_(m.room_id == fts.c.rowid.op(">>")(FTS_SEQ_BITS), m.seq == fts.c.rowid.op("&")(mask))
        ).where(text(f"{FTS_TABLE} MATCH :words").bindparams(words=_fts5_query(terms)))
    else:
        statement = statement.where(m.body.match(_boolean_query(terms, index)))
    statement = statement.where(m.deleted_at.is_(None))
    if wanted.room_id:
        statement = statement.where(m.room_id == wanted.room_id)
    if wanted.sender_id:
        statement = statement.where(m.sender_id == wanted.sender_id)
    if wanted.since is not None:
        statement = statement.where(m.created_at >= wanted.since)
    if wanted.until is not None:
        statement = statement.where(m.created_at < wanted.until)
    if after is not None:
        at, room_id, seq = after
        statement = statement.where(
            or_(
                m.created_at < at,
                and_(m.created_at == at, or_(m.room_id < room_id, and_(m.room_id == room_id, m.seq < seq))),
            )
        )
    statement = statement.order_by(m.created_at.desc(), m.room_id.desc(), m.seq.desc()).limit(limit)
    return list(s.scalars(statement))


def _fts5_query(terms: words.Terms) -> str:
    # Each word a quoted string (words hold no quotes: letters, digits and marks only), the last a prefix.
    *whole, last = terms.words
    return " ".join([*(f'"{w}"' for w in whole), f'"{last}"*'])


def _boolean_query(terms: words.Terms, index: WordIndex) -> str:
    # +word for each word the index holds (a required word it does not hold would match nothing),
    # +prefix* for the last (InnoDB finds longer indexed words that start with a short prefix).
    *whole, last = terms.words
    return " ".join([*(f"+{w}" for w in whole if index.holds(words.fold(w))), f"+{last}*"])


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


# -- files -----------------------------------------------------------------------------------------

FILES = cast(Table, models.File.__table__)


def file_of(row: models.File) -> domain.File:
    """A files row as a File."""
    return domain.File(
        row.id, row.room_id, row.uploader_id, row.name, row.size, row.content_type, row.sha256, row.created_at,
        row.width, row.height, row.thumbnail_size, row.thumbnail_type, row.message_seq,
    )  # fmt: skip


def with_files(s: Session, messages: Sequence[domain.Message]) -> list[domain.Message]:
    """The messages with their files, in attachment order: one query per room for the messages that have any.

    Messages whose row counts no files (file_count 0: most of them) cost nothing.
    """
    having = [m for m in messages if m.file_count and not m.files]
    if not having:
        return list(messages)
    found: dict[tuple[int, int], list[domain.File]] = {}
    f = models.File
    for room_id in sorted({m.room_id for m in having}):
        for chunk in _chunks([m.seq for m in having if m.room_id == room_id]):
            rows = s.scalars(
                select(f)
                .where(f.room_id == room_id, f.message_seq.in_(chunk), f.removed_at.is_(None))
                .order_by(f.message_seq, f.position)
            )
            for row in rows:
                found.setdefault((room_id, cast(int, row.message_seq)), []).append(file_of(row))
    return [
        replace(m, files=tuple(found.get((m.room_id, m.seq), ()))) if m.file_count and not m.files else m
        for m in messages
    ]


def files_by_id(s: Session, file_ids: Iterable[str], lock: bool = False) -> dict[str, models.File]:
    """The rows of these files that are not removed (lock: FOR UPDATE, as a send that attaches them takes them)."""
    wanted = sorted(set(file_ids))
    if not wanted:
        return {}
    statement = select(models.File).where(models.File.id.in_(wanted), models.File.removed_at.is_(None))
    if lock:
        statement = statement.with_for_update()
    return {row.id: row for row in s.scalars(statement)}


def attach_files(s: Session, messages: Sequence[domain.Message]) -> None:
    """Point the files of new messages at them, in order: one UPDATE statement, a row per file."""
    rows = [{"fid": file.id, "seq": m.seq, "pos": position} for m in messages for position, file in enumerate(m.files)]
    if rows:
        statement = (
            update(FILES)
            .where(FILES.c.id == bindparam("fid"))
            .values(message_seq=bindparam("seq"), position=bindparam("pos"))
        )
        s.execute(statement, rows)


def remove_files(s: Session, room_id: int, seq: int, now: datetime) -> None:
    """Hide a deleted message's files at once; the sweeper removes their bytes after the grace period."""
    s.execute(
        update(FILES)
        .where(FILES.c.room_id == room_id, FILES.c.message_seq == seq, FILES.c.removed_at.is_(None))
        .values(removed_at=now)
    )
