"""The rules of rooms, membership and messages. Blocking: runs on the Database's worker threads.

Ordering: every write to a room's messages takes the room's row lock in the database (the UPDATE
of rooms.last_seq / last_change), which makes seq and change gap-free and unique across replicas.
Inside one process, a striped lock per room also covers the publish that follows the commit, so
that events of a room leave this process in seq order.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from chat_svc import rules
from chat_svc.convert import member_pb, message_pb, room_pb
from chat_svc.models import Member, Message, Room
from common.db import Database, PreciseDateTime
from common.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, ServiceError
from common.timestamps import to_timestamp, utcnow
from parley.chat.v1 import chat_pb2 as pb

log = logging.getLogger(__name__)

Publish = Callable[[Sequence[pb.Event]], None]
MESSAGES = cast(Table, Message.__table__)  # Core inserts: no ORM bookkeeping for rows never loaded
_STRIPES = 256


@dataclass(frozen=True)
class Send:
    """One validated SendMessage, for send_many()."""

    user_id: int
    room_id: int
    client_msg_id: str
    body: str


# A stored (or found again) message and whether it was a repeat; or why this one send failed.
SendResult = tuple[pb.Message, bool] | ServiceError


def _member_event(room_id: int, user_id: int, role: int, joined: bool) -> pb.Event:
    membership = pb.Membership(user_id=user_id, role=role)  # type: ignore[arg-type]
    if joined:
        return pb.Event(room_id=room_id, member_joined=membership)
    return pb.Event(room_id=room_id, member_left=membership)


class Chat:
    """Rooms, members and messages over one chat_db."""

    def __init__(self, db: Database, publish: Publish, max_message_chars: int = 4000) -> None:
        self.db = db
        self._publish = publish
        self._max_chars = max_message_chars
        self._locks = [threading.Lock() for _ in range(_STRIPES)]

    def _room_lock(self, room_id: int) -> threading.Lock:
        return self._locks[room_id % _STRIPES]

    # -- lookups ----------------------------------------------------------------------------------

    @staticmethod
    def _room(s: Session, room_id: int, lock: bool = False) -> Room:
        # lock=True takes the room row's write lock first (SELECT ... FOR UPDATE), as sends do with
        # their UPDATE: membership writes then see the latest rows, and every writer locks in the
        # same order, so replicas cannot deadlock on a shared lock taken through a foreign key.
        room = s.get(Room, rules.room_id(room_id), with_for_update=lock or None)
        if room is None:
            raise NotFound(f"room {room_id} does not exist")
        return room

    @staticmethod
    def _not_member(room_id: int, kind: int) -> PermissionDenied:
        hint = "join it first" if kind == pb.ROOM_KIND_PUBLIC else "ask a member to invite you"
        return PermissionDenied(f"you are not a member of room {room_id}; {hint}")

    @classmethod
    def _membership(cls, s: Session, room: Room, user_id: int) -> Member:
        member = s.get(Member, (room.id, user_id))
        if member is None:
            raise cls._not_member(room.id, room.kind)
        return member

    def _visible_room(self, s: Session, room_id: int, user_id: int) -> Room:
        """A room the user belongs to, or any public channel."""
        room = self._room(s, room_id)
        if room.kind != pb.ROOM_KIND_PUBLIC:
            self._membership(s, room, user_id)
        return room

    def require_member(self, user_id: int, room_id: int) -> None:
        """PermissionDenied / NotFound unless the user belongs to the room."""
        with self.db.sessions() as s:
            self._membership(s, self._room(s, room_id), user_id)

    def member_room_ids(self, user_id: int) -> set[int]:
        """Ids of every room the user belongs to."""
        with self.db.sessions() as s:
            return set(s.scalars(select(Member.room_id).where(Member.user_id == user_id)))

    # -- rooms ------------------------------------------------------------------------------------

    def create_room(self, user_id: int, kind: int, name: str, topic: str, member_ids: Sequence[int]) -> pb.Room:
        """A new public channel or private room owned by the caller, with the given members."""
        if kind not in (pb.ROOM_KIND_PUBLIC, pb.ROOM_KIND_PRIVATE):
            raise InvalidArgument("kind must be ROOM_KIND_PUBLIC or ROOM_KIND_PRIVATE (use OpenDirectRoom for DMs)")
        others = rules.invitees(member_ids, user_id)
        now = utcnow()
        with self.db.sessions.begin() as s:
            room = Room(
                kind=kind,
                name=rules.room_name(name),
                topic=rules.topic(topic),
                created_by=user_id,
                created_at=now,
                member_count=1 + len(others),
            )
            s.add(room)
            s.flush()
            s.add(Member(room_id=room.id, user_id=user_id, role=pb.MEMBER_ROLE_OWNER, joined_at=now))
            for other in others:
                s.add(Member(room_id=room.id, user_id=other, role=pb.MEMBER_ROLE_MEMBER, joined_at=now))
            result = room_pb(room)
        self._publish(
            [
                _member_event(room.id, user_id, pb.MEMBER_ROLE_OWNER, True),
                *(_member_event(room.id, other, pb.MEMBER_ROLE_MEMBER, True) for other in others),
                pb.Event(room_id=room.id, room_updated=result),
            ]
        )
        return result

    def open_direct(self, user_id: int, other_id: int) -> tuple[pb.Room, bool]:
        """The direct room of two users, created on first use."""
        if other_id <= 0 or other_id == user_id:
            raise InvalidArgument("user_id must be another user's id")
        low, high = sorted((user_id, other_id))
        key = f"{low}:{high}"
        with self.db.sessions() as s:
            existing = s.scalar(select(Room).where(Room.direct_key == key))
            if existing is not None:
                return room_pb(existing), False
        now = utcnow()
        try:
            with self.db.sessions.begin() as s:
                room = Room(
                    kind=pb.ROOM_KIND_DIRECT, created_by=user_id, created_at=now, member_count=2, direct_key=key
                )
                s.add(room)
                s.flush()
                for uid in (low, high):
                    s.add(Member(room_id=room.id, user_id=uid, role=pb.MEMBER_ROLE_MEMBER, joined_at=now))
                result = room_pb(room)
        except IntegrityError:  # the other user opened it at the same moment
            with self.db.sessions() as s:
                raced = s.scalar(select(Room).where(Room.direct_key == key))
                assert raced is not None
                return room_pb(raced), False
        self._publish([_member_event(room.id, uid, pb.MEMBER_ROLE_MEMBER, True) for uid in (low, high)])
        return result, True

    def get_room(self, user_id: int, room_id: int) -> pb.Room:
        """A room the caller may see."""
        with self.db.sessions() as s:
            return room_pb(self._visible_room(s, room_id, user_id))

    def list_my_rooms(self, user_id: int) -> list[pb.MyRoom]:
        """The caller's rooms, most recently active first, with unread counts."""
        with self.db.sessions() as s:
            rows = s.execute(
                select(Room, Member)
                .join(Member, Member.room_id == Room.id)
                .where(Member.user_id == user_id)
                .order_by(func.coalesce(Room.last_message_at, Room.created_at).desc(), Room.id.desc())
            ).all()
            unread = dict(
                s.execute(
                    select(Member.room_id, func.count(Message.seq))
                    .join(
                        Message,
                        and_(
                            Message.room_id == Member.room_id,
                            Message.seq > Member.last_read_seq,
                            Message.sender_id != user_id,
                            Message.deleted_at.is_(None),
                        ),
                    )
                    .where(Member.user_id == user_id)
                    .group_by(Member.room_id)
                ).all()
            )
        return [
            pb.MyRoom(
                room=room_pb(room),
                last_read_seq=member.last_read_seq,
                unread_count=unread.get(room.id, 0),
                role=member.role,  # type: ignore[arg-type]
            )
            for room, member in rows
        ]

    def list_public(self, query: str, after_room_id: int, limit: int) -> tuple[list[pb.Room], bool]:
        """Public channels whose name contains query, ascending id, after a cursor."""
        size = rules.page_size(limit)
        if len(query) > rules.ROOM_NAME_MAX:
            raise InvalidArgument(f"query must be at most {rules.ROOM_NAME_MAX} characters")
        statement = select(Room).where(Room.kind == pb.ROOM_KIND_PUBLIC, Room.id > max(after_room_id, 0))
        if query.strip():
            escaped = query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            statement = statement.where(func.lower(Room.name).like(f"%{escaped.lower()}%", escape="\\"))
        with self.db.sessions() as s:
            rooms = s.scalars(statement.order_by(Room.id).limit(size + 1)).all()
        return [room_pb(r) for r in rooms[:size]], len(rooms) > size

    def join(self, user_id: int, room_id: int) -> pb.Room:
        """Join a public channel; already a member is fine."""
        with self._room_lock(room_id):
            with self.db.sessions.begin() as s:
                room = self._room(s, room_id, lock=True)
                if s.get(Member, (room.id, user_id)) is not None:
                    return room_pb(room)
                if room.kind != pb.ROOM_KIND_PUBLIC:
                    raise PermissionDenied(f"room {room.id} is not a public channel; ask a member to invite you")
                self._add_member(s, room, user_id)
                result = room_pb(room)
            self._publish([_member_event(room_id, user_id, pb.MEMBER_ROLE_MEMBER, True)])
        return result

    def leave(self, user_id: int, room_id: int) -> None:
        """Leave a channel or private room; not a member is fine."""
        with self._room_lock(room_id):
            with self.db.sessions.begin() as s:
                room = self._room(s, room_id, lock=True)
                if room.kind == pb.ROOM_KIND_DIRECT:
                    raise FailedPrecondition("you cannot leave a direct conversation")
                member = s.get(Member, (room.id, user_id))
                if member is None:
                    return
                s.delete(member)
                s.execute(update(Room).where(Room.id == room.id).values(member_count=Room.member_count - 1))
                event = _member_event(room.id, user_id, member.role, False)
            self._publish([event])

    def invite(self, user_id: int, room_id: int, invitee_id: int) -> pb.Member:
        """Add a user to a room the caller belongs to; already a member is fine."""
        if invitee_id <= 0:
            raise InvalidArgument("user_id must be a user's id")
        with self._room_lock(room_id):
            with self.db.sessions.begin() as s:
                room = self._room(s, room_id, lock=True)
                self._membership(s, room, user_id)
                if room.kind == pb.ROOM_KIND_DIRECT:
                    raise FailedPrecondition("a direct conversation has exactly two members; create a room instead")
                member = s.get(Member, (room.id, invitee_id))
                if member is not None:
                    return member_pb(member)
                result = member_pb(self._add_member(s, room, invitee_id))
            self._publish([_member_event(room_id, invitee_id, pb.MEMBER_ROLE_MEMBER, True)])
        return result

    @staticmethod
    def _add_member(s: Session, room: Room, user_id: int) -> Member:
        member = Member(room_id=room.id, user_id=user_id, role=pb.MEMBER_ROLE_MEMBER, joined_at=utcnow())
        s.add(member)
        s.execute(update(Room).where(Room.id == room.id).values(member_count=Room.member_count + 1))
        s.flush()
        s.refresh(room)
        return member

    def list_members(self, user_id: int, room_id: int, after_user_id: int, limit: int) -> tuple[list[pb.Member], bool]:
        """Members of a visible room, ascending user id, after a cursor."""
        size = rules.page_size(limit, rules.MEMBERS_PAGE_DEFAULT, rules.MEMBERS_PAGE_MAX)
        with self.db.sessions() as s:
            room = self._visible_room(s, room_id, user_id)
            members = s.scalars(
                select(Member)
                .where(Member.room_id == room.id, Member.user_id > max(after_user_id, 0))
                .order_by(Member.user_id)
                .limit(size + 1)
            ).all()
        return [member_pb(m) for m in members[:size]], len(members) > size

    # -- messages ---------------------------------------------------------------------------------

    def send(self, user_id: int, room_id: int, client_msg_id: str, body: str) -> tuple[pb.Message, bool]:
        """Store a message with the room's next seq; a repeated client_msg_id returns the original."""
        key = rules.client_msg_id(client_msg_id)
        text = rules.message_body(body, self._max_chars)
        with self._room_lock(room_id):
            try:
                with self.db.sessions.begin() as s:
                    room = self._room(s, room_id)
                    self._membership(s, room, user_id)
                    original = self._by_client_id(s, room.id, user_id, key)
                    if original is not None:
                        duplicate = message_pb(original)
                        # Published again: when the replica that stored it died before publishing,
                        # the sender's retry is what brings it to everyone (downstream drops repeats).
                        self._publish([pb.Event(room_id=room_id, message_created=duplicate)])
                        return duplicate, True
                    seq, change, now = self._next_numbers(s, room.id, new_message=True)
                    message = Message(
                        room_id=room.id, seq=seq, change=change, sender_id=user_id,
                        client_msg_id=key, body=text, created_at=now,
                    )  # fmt: skip
                    s.add(message)
                    # Your own message is read by you.
                    s.execute(
                        update(Member)
                        .where(Member.room_id == room.id, Member.user_id == user_id, Member.last_read_seq < seq)
                        .values(last_read_seq=seq)
                    )
                    s.flush()
                    result = message_pb(message)
            except IntegrityError:
                # Another replica stored the same client_msg_id between our check and insert.
                with self.db.sessions() as s:
                    original = self._by_client_id(s, room_id, user_id, key)
                    if original is None:
                        raise
                    return message_pb(original), True
            self._publish([pb.Event(room_id=room_id, message_created=result)])
        return result, False

    def send_many(self, sends: Sequence[Send]) -> list[SendResult]:
        """Store several sends in one transaction (group commit: one durable commit for all).

        Each send succeeds or fails on its own, with the same rules and results as send(). Rooms
        are numbered in id order, so concurrent batches (other replicas) lock rooms in one order.
        If the batch trips over a concurrent writer (a duplicate stored by another replica at the
        same moment, a deadlock), every send is retried alone.
        """
        stripes = [self._locks[i] for i in sorted({send.room_id % _STRIPES for send in sends})]
        for lock in stripes:  # in index order, so two batches cannot deadlock on them
            lock.acquire()
        results: list[SendResult] | None = None
        try:
            try:
                with self.db.sessions.begin() as s:
                    results, events = self._store_many(s, sends)
            except (IntegrityError, OperationalError) as exc:
                log.info("a batch of %d sends met a concurrent writer (%s); sending one by one", len(sends), exc)
            else:
                self._publish(events)
        finally:
            for lock in reversed(stripes):
                lock.release()
        if results is None:
            return [self._send_alone(send) for send in sends]
        return results

    def _send_alone(self, send: Send) -> SendResult:
        try:
            return self.send(send.user_id, send.room_id, send.client_msg_id, send.body)
        except ServiceError as error:
            return error

    def _store_many(self, s: Session, sends: Sequence[Send]) -> tuple[list[SendResult], list[pb.Event]]:
        now = utcnow()
        room_ids = sorted({send.room_id for send in sends})
        kinds = {rid: kind for rid, kind in s.execute(select(Room.id, Room.kind).where(Room.id.in_(room_ids)))}
        users = {send.user_id for send in sends}
        members = {
            (rid, uid)
            for rid, uid in s.execute(
                select(Member.room_id, Member.user_id).where(Member.room_id.in_(room_ids), Member.user_id.in_(users))
            )
        }
        existing = {
            (m.room_id, m.sender_id, m.client_msg_id): m
            for m in s.scalars(
                select(Message).where(
                    Message.room_id.in_(room_ids),
                    Message.sender_id.in_(users),
                    Message.client_msg_id.in_({send.client_msg_id for send in sends}),
                )
            )
        }
        results: list[SendResult | None] = [None] * len(sends)
        events: list[pb.Event] = []
        first: dict[tuple[int, int, str], int] = {}  # a key sent twice in one batch: its first send
        fresh: dict[int, list[int]] = {}  # room -> indexes of its new messages, in arrival order
        for i, send in enumerate(sends):
            key = (send.room_id, send.user_id, send.client_msg_id)
            if send.room_id not in kinds:
                results[i] = NotFound(f"room {send.room_id} does not exist")
            elif (send.room_id, send.user_id) not in members:
                results[i] = self._not_member(send.room_id, kinds[send.room_id])
            elif key in existing:
                original = message_pb(existing[key])
                results[i] = (original, True)
                events.append(pb.Event(room_id=send.room_id, message_created=original))  # see send()
            elif key not in first:
                first[key] = i
                fresh.setdefault(send.room_id, []).append(i)
        rows: list[dict[str, object]] = []
        read: dict[tuple[int, int], int] = {}
        if fresh:
            # One UPDATE numbers every room of the batch (it takes their row locks in primary-key
            # order, as every writer does), one SELECT reads the new counters back: a batch costs
            # the same few round trips whether it holds one room or a hundred.
            # Plain SQL with the (integer) ids and counts written in: building and compiling the same
            # statement as SQLAlchemy expressions cost more CPU than the database spent on it.
            counts = {int(room_id): len(indexes) for room_id, indexes in fresh.items()}
            by = "CASE id " + " ".join(f"WHEN {r} THEN {n}" for r, n in counts.items()) + " END"
            ids = ",".join(map(str, sorted(counts)))
            s.execute(
                text(
                    f"UPDATE rooms SET last_seq = last_seq + {by}, last_change = last_change + {by}, "
                    f"last_message_at = :now WHERE id IN ({ids})"
                ).bindparams(bindparam("now", now, type_=PreciseDateTime))
            )
            tops = {
                room_id: (last_seq, last_change)
                for room_id, last_seq, last_change in s.execute(
                    select(Room.id, Room.last_seq, Room.last_change).where(Room.id.in_(sorted(counts)))
                )
            }
        for room_id in sorted(fresh):
            indexes = fresh[room_id]
            count = len(indexes)
            last_seq, last_change = tops[room_id]
            for n, i in enumerate(indexes):
                send = sends[i]
                seq, change = last_seq - count + 1 + n, last_change - count + 1 + n
                rows.append(
                    {"room_id": room_id, "seq": seq, "change": change, "sender_id": send.user_id,
                     "client_msg_id": send.client_msg_id, "body": send.body, "created_at": now}
                )  # fmt: skip
                message = pb.Message(
                    room_id=room_id, seq=seq, change=change, sender_id=send.user_id,
                    client_msg_id=send.client_msg_id, body=send.body, created_at=to_timestamp(now),
                )  # fmt: skip
                results[i] = (message, False)
                events.append(pb.Event(room_id=room_id, message_created=message))
                read[(room_id, send.user_id)] = seq
        if rows:
            s.execute(insert(MESSAGES), rows)
        if read:  # your own message is read by you: one UPDATE moves every sender's marker
            marks = " ".join(
                f"WHEN room_id = {int(r)} AND user_id = {int(u)} AND last_read_seq < {int(seq)} THEN {int(seq)}"
                for (r, u), seq in read.items()
            )
            pairs = ",".join(f"({int(r)},{int(u)})" for r, u in sorted(read))
            s.execute(
                text(
                    f"UPDATE members SET last_read_seq = CASE {marks} ELSE last_read_seq END "
                    f"WHERE (room_id, user_id) IN ({pairs})"
                )
            )
        for i, send in enumerate(sends):
            if results[i] is None:  # the same key twice in this batch: the first one's message
                stored = results[first[(send.room_id, send.user_id, send.client_msg_id)]]
                assert isinstance(stored, tuple)
                results[i] = (stored[0], True)
        return [result for result in results if result is not None], events

    @staticmethod
    def _by_client_id(s: Session, room_id: int, user_id: int, key: str) -> Message | None:
        return s.scalar(
            select(Message).where(
                Message.room_id == room_id, Message.sender_id == user_id, Message.client_msg_id == key
            )
        )

    @staticmethod
    def _next_numbers(s: Session, room_id: int, new_message: bool) -> tuple[int, int, datetime]:
        """Take the room's next change (and seq) under its row lock; rolled back with the transaction."""
        now = utcnow()
        values: dict[str, object] = {"last_change": Room.last_change + 1}
        if new_message:
            values.update(last_seq=Room.last_seq + 1, last_message_at=now)
        s.execute(update(Room).where(Room.id == room_id).values(**values))
        seq, change = s.execute(
            select(Room.last_seq, Room.last_change).where(Room.id == room_id).with_for_update()
        ).one()
        return seq, change, now

    def _own_message(self, s: Session, user_id: int, room_id: int, seq: int) -> Message:
        room = self._room(s, room_id)
        self._membership(s, room, user_id)
        message = s.get(Message, (room.id, seq), with_for_update=True)
        if message is None:
            raise NotFound(f"room {room.id} has no message {seq}")
        if message.sender_id != user_id:
            raise PermissionDenied("only the author can edit or delete a message")
        return message

    def edit(self, user_id: int, room_id: int, seq: int, body: str) -> pb.Message:
        """Replace the body of the caller's own message."""
        text = rules.message_body(body, self._max_chars)
        with self._room_lock(room_id):
            with self.db.sessions.begin() as s:
                message = self._own_message(s, user_id, room_id, seq)
                if message.deleted_at is not None:
                    raise FailedPrecondition("a deleted message cannot be edited")
                if message.body == text:
                    return message_pb(message)
                _, change, now = self._next_numbers(s, message.room_id, new_message=False)
                message.body, message.edited_at, message.change = text, now, change
                s.flush()
                result = message_pb(message)
            self._publish([pb.Event(room_id=room_id, message_edited=result)])
        return result

    def delete(self, user_id: int, room_id: int, seq: int) -> pb.Message:
        """Turn the caller's own message into a tombstone; deleting twice is fine."""
        with self._room_lock(room_id):
            with self.db.sessions.begin() as s:
                message = self._own_message(s, user_id, room_id, seq)
                if message.deleted_at is not None:
                    return message_pb(message)
                _, change, now = self._next_numbers(s, message.room_id, new_message=False)
                message.body, message.deleted_at, message.change = "", now, change
                s.flush()
                result = message_pb(message)
            self._publish([pb.Event(room_id=room_id, message_deleted=result)])
        return result

    def list_messages(
        self, user_id: int, room_id: int, anchor_seq: int, direction: int, limit: int
    ) -> tuple[list[pb.Message], bool]:
        """A page of history by keyset on (room_id, seq), returned in ascending seq order."""
        size = rules.page_size(limit)
        if anchor_seq < 0:
            raise InvalidArgument("anchor_seq must not be negative")
        with self.db.sessions() as s:
            room = self._room(s, room_id)
            self._membership(s, room, user_id)
            statement = select(Message).where(Message.room_id == room.id)
            if direction == pb.DIRECTION_FORWARD:
                statement = statement.where(Message.seq > anchor_seq).order_by(Message.seq)
            else:
                if anchor_seq:
                    statement = statement.where(Message.seq < anchor_seq)
                statement = statement.order_by(Message.seq.desc())
            rows = list(s.scalars(statement.limit(size + 1)))
        has_more = len(rows) > size
        rows = sorted(rows[:size], key=lambda m: m.seq)
        return [message_pb(m) for m in rows], has_more

    def messages_after(self, room_id: int, after_seq: int, limit: int) -> list[pb.Message]:
        """Up to limit messages with seq > after_seq, ascending: the replay of a stream."""
        with self.db.sessions() as s:
            rows = s.scalars(
                select(Message)
                .where(Message.room_id == room_id, Message.seq > after_seq)
                .order_by(Message.seq)
                .limit(limit)
            )
            return [message_pb(m) for m in rows]

    def last_seqs(self, room_ids: Sequence[int]) -> dict[int, int]:
        """The newest seq of each of these rooms."""
        found: dict[int, int] = {}
        with self.db.sessions() as s:
            for start in range(0, len(room_ids), 1000):
                chunk = list(room_ids[start : start + 1000])
                found.update(
                    (rid, last) for rid, last in s.execute(select(Room.id, Room.last_seq).where(Room.id.in_(chunk)))
                )
        return found

    def changes_after(self, room_id: int, up_to_seq: int, after_change: int, limit: int) -> list[pb.Message]:
        """Messages up to seq up_to_seq changed after after_change, by change: missed edits/deletes."""
        with self.db.sessions() as s:
            rows = s.scalars(
                select(Message)
                .where(Message.room_id == room_id, Message.change > after_change, Message.seq <= up_to_seq)
                .where(or_(Message.edited_at.is_not(None), Message.deleted_at.is_not(None)))
                .order_by(Message.change)
                .limit(limit)
            )
            return [message_pb(m) for m in rows]

    def mark_read(self, user_id: int, room_id: int, seq: int) -> tuple[int, int]:
        """Move the read marker forward to seq (clamped to the room's last seq); (marker, unread)."""
        if seq < 0:
            raise InvalidArgument("seq must not be negative")
        with self.db.sessions.begin() as s:
            room = self._room(s, room_id)
            member = self._membership(s, room, user_id)
            target = min(seq, room.last_seq)
            moved = target > member.last_read_seq
            if moved:
                s.execute(
                    update(Member)
                    .where(Member.room_id == room.id, Member.user_id == user_id, Member.last_read_seq < target)
                    .values(last_read_seq=target)
                )
            marker = max(target, member.last_read_seq)
            unread = s.scalar(
                select(func.count(Message.seq)).where(
                    Message.room_id == room.id,
                    Message.seq > marker,
                    Message.sender_id != user_id,
                    Message.deleted_at.is_(None),
                )
            )
        if moved:
            self._publish([pb.Event(room_id=room.id, read_marker=pb.ReadMarker(user_id=user_id, last_read_seq=marker))])
        return marker, int(unread or 0)
