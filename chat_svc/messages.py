"""Messages: the one write path that stores them (a batch of sends, one send being a batch of one),
and edits and deletes of one's own messages.

Blocking: runs on the Database's worker threads. sends.py feeds store() with batches (group commit).

Ordering: every write to a room's messages takes the room's row lock in the database (the UPDATE of
rooms.last_seq / last_change), which makes seq and change gap-free and unique across replicas.
Inside one process, the room's striped lock (locks.py) also covers the publish that follows the
commit, so that events of a room leave this process in seq order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from chat_svc import access, files, metrics, models, repository, roles, rules, threads
from chat_svc.domain import File, Message, Send, SendResult, Sent
from chat_svc.locks import RoomLocks
from chat_svc.publisher import Publisher
from chat_svc.roles import Act
from chat_svc.threads import ThreadChange
from common import retry
from common.db import Database
from common.errors import FailedPrecondition, NotFound, PermissionDenied, ServiceError
from common.timestamps import utcnow

log = logging.getLogger(__name__)

ALONE_ATTEMPTS = 3  # tries of one send retried alone, when concurrent writers keep getting in the way


def _concurrent(exc: IntegrityError | OperationalError) -> bool:
    """True when the transaction failed because another writer got there first, not for a broken database."""
    # IntegrityError: the unique client_msg_id key, stored by another replica meanwhile.
    return isinstance(exc, IntegrityError) or retry.conflict(exc)


class _Batch:
    """The rules of one transaction's sends, applied to what chat_db holds: each send's answer.

    Idempotency: a key (room, sender, client_msg_id) already stored answers its original message,
    duplicate=True; the same key twice in one batch stores it once. Numbering: each room's new
    messages take its next seqs and changes in arrival order, then each thread root its replies
    touched takes the next change. Your own message is read by you.
    """

    def __init__(self, sends: Sequence[Send], known: repository.Known) -> None:
        self.sends = sends
        self._known = known
        self.results: list[SendResult | None] = [None] * len(sends)
        self.published: list[Message] = []  # new messages, and the originals of repeats: sent again
        self.stored = 0  # new messages numbered (and inserted)
        self._first: dict[repository.Key, int] = {}  # a key sent twice in this batch: its first send
        self.fresh: dict[int, list[int]] = {}  # room -> indexes of its new messages, in arrival order
        self._roots: dict[tuple[int, int], threads.Root] = {}  # (room, seq) named by a reply, and real roots
        self._mentions: dict[int, tuple[tuple[int, ...], bool]] = {}  # send index -> (members named, @room)
        self.thread_changes: list[ThreadChange] = []
        self.replying = self.naming = False  # a new message is a reply; one mentions someone
        self.attaching = False  # a new message attaches files
        self._files: dict[int, tuple[File, ...]] = {}  # send index -> its files
        for i, send in enumerate(sends):
            self._check(i, send, known)

    def _check(self, i: int, send: Send, known: repository.Known) -> None:
        key = (send.room_id, send.user_id, send.client_msg_id)
        kind = known.kinds.get(send.room_id)
        if kind is None:
            self.results[i] = NotFound(f"room {send.room_id} does not exist")
        elif (send.room_id, send.user_id) not in known.members:
            self.results[i] = access.not_member(send.room_id, kind)
        elif send.room_id in known.archived:
            self.results[i] = access.archived(send.room_id)
        elif key in known.existing:
            # Published again: when the replica that stored it died before publishing, the sender's
            # retry is what brings it to everyone (downstream drops repeats by seq).
            original = known.existing[key]
            self.results[i] = Sent(original, True)
            self.published.append(original)
        elif key not in self._first:
            self._first[key] = i
            self.fresh.setdefault(send.room_id, []).append(i)
            self.replying = self.replying or bool(send.thread_root_seq)
            self.naming = self.naming or bool(send.mentioned_user_ids) or send.mentions_room
            self.attaching = self.attaching or bool(send.file_ids)

    def counts(self) -> dict[int, int]:
        """How many new messages each room takes."""
        return {room_id: len(indexes) for room_id, indexes in self.fresh.items()}

    # -- threads and mentions: only batches with a reply or a mention take these steps -------------

    def fresh_sends(self) -> list[Send]:
        """The sends that will be stored, in arrival order."""
        return [self.sends[i] for indexes in self.fresh.values() for i in indexes]

    def named_roots(self) -> set[tuple[int, int]]:
        """(room, seq) of the messages the new replies answer."""
        return {(send.room_id, send.thread_root_seq) for send in self.fresh_sends() if send.thread_root_seq}

    def named_users(self) -> set[tuple[int, int]]:
        """(room, user) of the users the new messages mention by @username."""
        return {(send.room_id, user) for send in self.fresh_sends() for user in send.mentioned_user_ids}

    def check_roots(self, found: dict[tuple[int, int], threads.Root]) -> None:
        """Refuse the replies to a seq their room does not have (NotFound: nothing stored for them)."""
        self._roots = found
        for room_id in list(self.fresh):
            kept = []
            for i in self.fresh[room_id]:
                seq = self.sends[i].thread_root_seq
                if seq and self._root_seq(room_id, seq) is None:
                    self.results[i] = NotFound(f"room {room_id} has no message {seq}")
                else:
                    kept.append(i)
            if kept:
                self.fresh[room_id] = kept
            else:
                del self.fresh[room_id]

    def _root_seq(self, room_id: int, seq: int) -> int | None:
        """The thread a reply to seq joins: seq's own, or its root's when seq is a reply (one level deep)."""
        named = self._roots.get((room_id, seq))
        if named is None:
            return None
        if not named.thread_root_seq:
            return seq
        return named.thread_root_seq if (room_id, named.thread_root_seq) in self._roots else None

    def keep_members(self, members: set[tuple[int, int]]) -> None:
        """Each new message's mentions: the members it names, and @room where the room allows it."""
        for indexes in self.fresh.values():
            for i in indexes:
                send = self.sends[i]
                named = tuple(sorted(u for u in set(send.mentioned_user_ids) if (send.room_id, u) in members))
                everyone = send.mentions_room and send.room_id in self._known.room_mentions
                if named or everyone:
                    self._mentions[i] = (named, everyone)

    # -- files: only batches with a send that attaches files take this step ------------------------

    def named_files(self) -> set[str]:
        """Ids of the files the new messages attach."""
        return {file_id for send in self.fresh_sends() for file_id in send.file_ids}

    def check_files(self, found: dict[str, models.File]) -> None:
        """Refuse the sends whose files are not the sender's unattached uploads into the room (nothing stored)."""
        claimed: set[str] = set()
        for room_id in list(self.fresh):
            kept = []
            for i in self.fresh[room_id]:
                send = self.sends[i]
                error = files.attach_error(send, found, claimed)
                if error is not None:
                    self.results[i] = error
                    continue
                claimed.update(send.file_ids)
                if send.file_ids:
                    self._files[i] = tuple(repository.file_of(found[file_id]) for file_id in send.file_ids)
                kept.append(i)
            if kept:
                self.fresh[room_id] = kept
            else:
                del self.fresh[room_id]

    def changes(self) -> dict[int, int]:
        """How many changes each room takes: its new messages, then one per thread root touched."""
        return {room_id: len(indexes) + len(self._touched(indexes)) for room_id, indexes in self.fresh.items()}

    def _touched(self, indexes: list[int]) -> list[int]:
        send = self.sends
        return sorted({self._root_seq(send[i].room_id, send[i].thread_root_seq) or 0 for i in indexes} - {0})

    # -- numbering -----------------------------------------------------------------------------------

    def timeline(self) -> dict[int, int]:
        """How many of each room's new messages are in its main timeline (what unread counts)."""
        return {
            room_id: sum(1 for i in indexes if _in_timeline(self.sends[i].thread_root_seq, self.sends[i].also_in_room))
            for room_id, indexes in self.fresh.items()
        }

    def number(self, tops: dict[int, tuple[int, int, int]], now: datetime) -> list[Message]:
        """The new messages, numbered below each room's new counters (last_seq, last_change, _)."""
        created: list[Message] = []
        for room_id in sorted(self.fresh):
            indexes = self.fresh[room_id]
            last_seq, last_change, _ = tops[room_id]
            touched = self._touched(indexes) if self._roots else []
            seq, change = last_seq - len(indexes), last_change - len(indexes) - len(touched)
            replies: dict[int, list[tuple[int, int]]] = {}  # root seq -> (seq, sender) of its new replies
            for n, i in enumerate(indexes, 1):
                send = self.sends[i]
                message = Message(room_id, seq + n, change + n, send.user_id, send.client_msg_id, send.body, now)
                if send.thread_root_seq or i in self._mentions:
                    message = self._conversing(message, send, i, replies)
                if i in self._files:
                    attached = tuple(replace(file, message_seq=message.seq) for file in self._files[i])
                    message = replace(message, file_count=len(attached), files=attached)
                self.results[i] = Sent(message, False)
                created.append(message)
                self.stored += 1
            for k, root_seq in enumerate(touched, 1):
                before = self._roots[(room_id, root_seq)].summary
                summary = threads.with_replies(before, replies[root_seq], now)
                self.thread_changes.append(ThreadChange(room_id, root_seq, change + len(indexes) + k, summary))
        self.published.extend(created)
        return created

    def _conversing(self, message: Message, send: Send, i: int, replies: dict[int, list[tuple[int, int]]]) -> Message:
        """A new message with its thread and mentions."""
        root_seq = (self._root_seq(send.room_id, send.thread_root_seq) or 0) if send.thread_root_seq else 0
        if root_seq:
            replies.setdefault(root_seq, []).append((message.seq, message.sender_id))
        named, everyone = self._mentions.get(i, ((), False))
        return replace(
            message,
            thread_root_seq=root_seq,
            also_in_room=send.also_in_room and bool(root_seq),
            mentioned_user_ids=named,
            mentions_room=everyone,
        )

    @property
    def conversing(self) -> bool:
        """Whether a new message is a reply or mentions someone (their columns and rows are written)."""
        return bool(self.thread_changes or self._mentions)

    def answers(self) -> list[SendResult]:
        """Every send's result; a key repeated in this batch gets its first send's message, as a duplicate."""
        answers: list[SendResult] = []
        for send, result in zip(self.sends, self.results, strict=True):
            if result is None:
                first = self.results[self._first[(send.room_id, send.user_id, send.client_msg_id)]]
                assert first is not None
                result = first if isinstance(first, ServiceError) else Sent(first.message, True)
            answers.append(result)
        return answers


class Messages:
    """Stores, edits and deletes messages over one chat_db."""

    def __init__(self, db: Database, publisher: Publisher, locks: RoomLocks, max_message_chars: int = 4000) -> None:
        self._db = db
        self._publisher = publisher
        self._locks = locks
        self._max_chars = max_message_chars

    def checked(
        self,
        user_id: int,
        room_id: int,
        client_msg_id: str,
        body: str,
        thread_root_seq: int = 0,
        also_in_room: bool = False,
        file_ids: Sequence[str] = (),
    ) -> Send:
        """A send whose input follows the rules (InvalidArgument otherwise), ready for store().

        Its mentions are resolved by the caller (service.py asks auth_svc) before it is stored.
        With files the body may be empty.
        """
        attached = rules.file_ids(file_ids) if file_ids else ()
        key = rules.client_msg_id(client_msg_id)
        text = rules.message_body(body, self._max_chars, may_be_empty=bool(attached))
        root = rules.thread_root(thread_root_seq, also_in_room)
        return Send(user_id, rules.room_id(room_id), key, text, root, also_in_room, file_ids=attached)

    def send(self, user_id: int, room_id: int, client_msg_id: str, body: str, thread_root_seq: int = 0) -> Sent:
        """Store one message (a batch of one); a repeated client_msg_id returns the original."""
        (result,) = self.store([self.checked(user_id, room_id, client_msg_id, body, thread_root_seq)])
        if isinstance(result, ServiceError):
            raise result
        return result

    def store(self, sends: Sequence[Send]) -> list[SendResult]:
        """Store several sends in one transaction (group commit: one durable commit for all).

        Each send succeeds or fails on its own. When the batch meets a concurrent writer (another
        replica stored one of its keys between our read and our insert, or a deadlock), the whole
        transaction is rolled back and every send is retried alone, through the same path: its fresh
        read finds a key stored meanwhile (duplicate=True), and one send's trouble stays its own.
        """
        try:
            return self._commit(sends)
        except (IntegrityError, OperationalError) as exc:
            if not _concurrent(exc):
                raise
            log.info("a batch of %d sends met a concurrent writer (%s); storing each alone", len(sends), exc)
        return [self._alone(send) for send in sends]

    def _alone(self, send: Send) -> SendResult:
        for attempt in range(1, ALONE_ATTEMPTS + 1):
            try:
                return self._commit([send])[0]
            except (IntegrityError, OperationalError) as exc:
                if attempt == ALONE_ATTEMPTS or not _concurrent(exc):
                    raise
        raise AssertionError("unreachable")

    def _commit(self, sends: Sequence[Send]) -> list[SendResult]:
        with self._locks.holding(send.room_id for send in sends):
            with self._db.sessions.begin() as s:
                batch = self._write(s, sends)
            metrics.MESSAGES_STORED.inc(batch.stored)
            self._publisher.created(batch.published)
            self._publisher.threads_updated(batch.thread_changes)
        return batch.answers()

    @staticmethod
    def _write(s: Session, sends: Sequence[Send]) -> _Batch:
        batch = _Batch(sends, repository.known_for(s, sends))
        # -- threads and mentions: one more SELECT each, only when a send is a reply or mentions --
        if batch.replying:
            batch.check_roots(repository.thread_roots(s, batch.named_roots()))
        if batch.naming and batch.fresh:
            batch.keep_members(repository.members_among(s, batch.named_users()))
        # -- files: the uploads named, locked (as a concurrent send of the same file would take them)
        if batch.attaching and batch.fresh:
            batch.check_files(repository.files_by_id(s, batch.named_files(), lock=True))
        if batch.fresh:
            now = utcnow()
            changes = batch.changes() if batch.replying else None
            timeline = batch.timeline() if batch.replying else None
            tops = repository.number_messages(s, batch.counts(), now, changes, timeline)
            created = batch.number(tops, now)
            repository.insert_messages(s, created, batch.conversing, batch.attaching)
            if batch.attaching:
                repository.attach_files(s, created)
            if batch.thread_changes:
                repository.update_roots(s, batch.thread_changes)
            if batch.conversing:
                repository.insert_mentions(s, created)
            # Your own message is read by you: the newest of each sender in each room.
            repository.move_own_markers(s, _own_marks(created, tops))
        return batch

    # -- edits and deletes ------------------------------------------------------------------------

    def edit(
        self, user_id: int, room_id: int, seq: int, body: str, mentioned: Sequence[int] = (), says_room: bool = False
    ) -> Message:
        """Replace the body of the caller's own message; its mentions are read again (mentioned, says_room)."""
        text = rules.message_body(body, self._max_chars)
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row = _own_message(s, user_id, room_id, seq, writing=True)
                if row.deleted_at is not None:
                    raise FailedPrecondition("a deleted message cannot be edited")
                if row.body == text:
                    return repository.messages_of(s, [row])[0]
                row.change, now = repository.next_change(s, row.room_id)
                row.body, row.edited_at = text, now
                _mention_again(s, row, mentioned, says_room)
                s.flush()
                message = repository.messages_of(s, [row])[0]  # -- files: an edit keeps them
            self._publisher.changed(message)
        return message

    def delete(self, user_id: int, room_id: int, seq: int) -> Message:
        """Turn the caller's own message (or, for owners and moderators, anyone's) into a tombstone; twice is fine."""
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row = _own_message(s, user_id, room_id, seq, others=Act.DELETE_OTHERS_MESSAGE)
                if row.deleted_at is not None:
                    return repository.message_of(row)
                message, thread = tombstone(s, row, user_id)
            self._publisher.changed(message)
            self._publisher.threads_updated(thread)
        return message


def tombstone(s: Session, row: models.Message, by_user_id: int) -> tuple[Message, list[ThreadChange]]:
    """Turn a (locked, live) message into a tombstone with the room's next change; by_user_id 0: an
    operator took it down. The tombstone, and its thread root's new summary for a reply.

    The one path of deletes: DeleteMessage here, TakeDownMessage in operations.py. The caller holds
    the room's lock and publishes both after its commit.
    """
    # -- threads and mentions: a reply's root is locked before the room, as sends lock it --
    root = repository.root_of(s, row.room_id, row.thread_root_seq) if row.thread_root_seq else None
    row.change, now = repository.next_change(s, row.room_id)
    if _in_timeline(row.thread_root_seq, row.also_in_room):  # no longer unread for anyone
        repository.uncount(s, row.room_id, row.seq)
    row.body, row.deleted_at = "", now
    thread = _reply_deleted(s, row, root)
    # -- reactions and moderation: who deleted it (NULL and taken_down for an operator); no reactions
    row.deleted_by, row.taken_down, row.reactions = by_user_id or None, not by_user_id, None
    repository.drop_reactions(s, row.room_id, row.seq)
    if row.file_count:  # -- files: out of view now, their bytes removed after the grace period
        repository.remove_files(s, row.room_id, row.seq, now)
    s.flush()
    return repository.message_of(row), thread


def _own_message(
    s: Session, user_id: int, room_id: int, seq: int, others: Act | None = None, writing: bool = False
) -> models.Message:
    """The caller's own message of a room they belong to, locked for the change.

    others: the act that lets some roles (roles.py) touch other people's messages too.
    writing: a change an archived room refuses (an edit; a delete removes, so it is still allowed).
    """
    found, member = access.member_room(s, room_id, user_id)
    if writing:
        access.require_open(found)
    row = s.get(models.Message, (found.id, seq), with_for_update=True)
    if row is None:
        raise NotFound(f"room {found.id} has no message {seq}")
    if row.sender_id != user_id:
        if others is None:
            raise PermissionDenied("only the author can edit a message")
        roles.require(others, member.role)
    return row


def _in_timeline(thread_root_seq: int, also_in_room: bool) -> bool:
    """Whether a message counts as unread (the main timeline): not a reply, or a reply also sent to the room."""
    return not thread_root_seq or also_in_room


def _own_marks(
    created: Sequence[Message], tops: dict[int, tuple[int, int, int]]
) -> dict[tuple[int, int], tuple[int, int]]:
    """Each sender's new marker in each room, (their newest seq, the timeline messages up to it).

    The room's timeline_count before the batch is what lies below the batch; created is in seq
    order within each room.
    """
    below = {room_id: count for room_id, (_, _, count) in tops.items()}
    for m in created:
        if _in_timeline(m.thread_root_seq, m.also_in_room):
            below[m.room_id] -= 1
    marks: dict[tuple[int, int], tuple[int, int]] = {}
    for m in created:
        if _in_timeline(m.thread_root_seq, m.also_in_room):
            below[m.room_id] += 1
        marks[(m.room_id, m.sender_id)] = (m.seq, below[m.room_id])
    return marks


# -- threads and mentions --------------------------------------------------------------------------


def _mention_again(s: Session, row: models.Message, mentioned: Sequence[int], says_room: bool) -> None:
    """An edited message's mentions: the members its new body names, @room where the room allows it."""
    if not (row.mentions or row.mentions_room or mentioned or says_room):
        return  # mentioned nobody, and still does not: no query
    repository.drop_mentions(s, row.room_id, row.seq)
    members = repository.members_among(s, ((row.room_id, user) for user in mentioned))
    everyone = says_room and bool(s.scalar(select(models.Room.room_mentions).where(models.Room.id == row.room_id)))
    named = tuple(sorted(user for _, user in members))
    row.mentions, row.mentions_room = repository.ids_text(named), everyone
    s.flush()
    repository.insert_mentions(s, [repository.message_of(row)])


def _reply_deleted(s: Session, row: models.Message, root: threads.Root | None) -> list[ThreadChange]:
    """A deleted message's mentions no longer count; a deleted reply leaves its root's count, with a change."""
    if row.mentions or row.mentions_room:
        repository.drop_mentions(s, row.room_id, row.seq)
    if root is None:  # not a reply (a root is never removed, only tombstoned)
        return []
    change, _ = repository.next_change(s, row.room_id)
    updated = ThreadChange(row.room_id, root.seq, change, threads.without_reply(root.summary))
    repository.update_roots(s, [updated])
    return [updated]
