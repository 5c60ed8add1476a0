"""The one write path: a send alone is a batch of one, and a batch survives concurrent writers."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from chat_svc import repository
from chat_svc.domain import Message, RoomKind, Send, SendResult, Sent
from chat_svc.history import History
from chat_svc.locks import RoomLocks
from chat_svc.messages import ALONE_ATTEMPTS, Messages
from chat_svc.publisher import Publisher
from chat_svc.server import migrate
from chat_svc.settings import ChatSettings
from chat_svc.tests.helpers import AcceptingRooms
from common.db import Database
from common.errors import ServiceError
from parley.chat.v1 import chat_pb2 as pb
from tests.support import mysql

ALICE, BOB, CAROL = 1, 2, 3
NO_ROOM = 10**9


@pytest.fixture(scope="module", params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path
) -> Iterator[Database]:
    """A migrated chat_db shared by this module's tests: a SQLite file, or a fresh MySQL database."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("write-path") / "chat.db"
        shutil.copyfile(migrated_sqlite, path)
        url = f"sqlite:///{path}"
    else:
        url = mysql.fresh_database("parley_test_chat_write")
        migrate(ChatSettings(database_url=url))
    db = Database(url, threads=4)
    yield db
    db.close()


@dataclass
class Replica:
    """One chat_svc process's write side: its own locks and published events, on the shared database."""

    db: Database
    events: list[pb.Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Wire the concepts as a replica does."""
        publisher, locks = Publisher(self.events.extend), RoomLocks()
        self.rooms = AcceptingRooms(self.db, publisher, locks)
        self.messages = Messages(self.db, publisher, locks)
        self.history = History(self.db)

    def room(self, *members: int) -> int:
        """A new private room of ALICE's with these members; its id."""
        return self.rooms.create(ALICE, RoomKind.PRIVATE, "write path", "", list(members)).id

    def stored(self, room_id: int) -> list[tuple[int, int, int, str, str]]:
        """(seq, change, sender, client_msg_id, body) of the room's messages."""
        page, _ = self.history.page(ALICE, room_id, 0, True, 200)
        return [(m.seq, m.change, m.sender_id, m.client_msg_id, m.body) for m in page]

    def published_seqs(self, room_id: int) -> list[int]:
        """Seqs of the room's message_created events, in publish order."""
        return [e.message_created.seq for e in self.events if e.room_id == room_id and e.HasField("message_created")]


def answer(result: SendResult, room_id: int) -> tuple[object, ...]:
    """What a send was answered, with the room's id written as ROOM (so two rooms compare)."""
    if isinstance(result, ServiceError):
        return type(result).__name__, re.sub(rf"\b{room_id}\b", "ROOM", result.message)
    m = result.message
    return m.seq, m.change, m.sender_id, m.client_msg_id, m.body, result.duplicate


def sends(room_id: int) -> list[Send]:
    """Every kind of send: new, from a stranger, to no room, a retry of a stored key, a key twice."""
    return [
        Send(ALICE, room_id, "a", "first"),
        Send(CAROL, room_id, "c", "not a member"),
        Send(BOB, room_id, "b", "second"),
        Send(ALICE, NO_ROOM, "x", "no such room"),
        Send(ALICE, room_id, "old", "a retry of a stored message"),
        Send(ALICE, room_id, "a", "the same key again"),
        Send(BOB, room_id, "b2", "third"),
    ]


def test_a_send_alone_and_the_same_sends_in_one_batch_get_the_same_answers(database: Database) -> None:
    """Each send stored alone, or all of them in one batch: the same answers, rows, markers and published messages."""
    chat = Replica(database)
    alone, batched = chat.room(BOB), chat.room(BOB)
    for room_id in (alone, batched):
        chat.messages.store([Send(ALICE, room_id, "old", "stored before")])
    one_by_one = [chat.messages.store([send])[0] for send in sends(alone)]
    together = chat.messages.store(sends(batched))
    assert [answer(r, alone) for r in one_by_one] == [answer(r, batched) for r in together]
    assert [answer(r, alone) for r in one_by_one][-1] == (4, 4, BOB, "b2", "third", False)
    assert chat.stored(alone) == chat.stored(batched)
    mine = {r.room.id: (r.last_read_seq, r.unread_count) for r in chat.rooms.list_mine(ALICE)[0]}
    assert mine[alone] == mine[batched] == (2, 2)  # her own newest message is read; Bob's two are not
    # The same messages are published (a batch sends its repeats' originals ahead of its new ones).
    assert set(chat.published_seqs(alone)) == set(chat.published_seqs(batched)) == {1, 2, 3, 4}


class Racer:
    """Has another replica store a key right after this replica's batch read what was stored."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, other: Replica, send: Send) -> None:
        """Patch the batch's read so that the other replica stores `send` just after it, once."""
        self._real = repository.known_for
        self._other, self._send = other, send
        self.stored: Sent | None = None
        self._started = False
        monkeypatch.setattr(repository, "known_for", self.known_for)

    def known_for(self, s: Session, batch: Sequence[Send]) -> repository.Known:
        """The real read; then, the first time, the other replica's commit of the same key."""
        known = self._real(s, batch)
        if not self._started:
            self._started = True
            send = self._send
            self.stored = self._other.messages.send(send.user_id, send.room_id, send.client_msg_id, "stored by two")
        return known


def test_a_key_stored_by_another_replica_between_read_and_insert_is_answered_as_a_duplicate(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key another replica commits after the batch's read and before its insert comes back duplicate=True."""
    one, two = Replica(database), Replica(database)
    room_id = one.room(BOB)
    racer = Racer(monkeypatch, two, Send(ALICE, room_id, "k1", ""))
    first, second = one.messages.store([Send(ALICE, room_id, "k1", "sent to one"), Send(BOB, room_id, "k2", "next")])
    assert racer.stored is not None and racer.stored.duplicate is False
    assert first == Sent(racer.stored.message, True)
    assert isinstance(second, Sent) and (second.message.seq, second.duplicate) == (2, False)
    assert one.stored(room_id) == [(1, 1, ALICE, "k1", "stored by two"), (2, 2, BOB, "k2", "next")]
    assert one.published_seqs(room_id) == [1, 2]  # the duplicate is published again, as every repeat is


class Deadlocks:
    """Makes the messages INSERT fail like a MySQL deadlock (or another error) a number of times."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, times: int, code: int = 1213) -> None:
        """Patch the insert to fail `times` times with the driver error `code`."""
        self._real = repository.insert_messages
        self._left, self._code = times, code
        self.calls = 0
        monkeypatch.setattr(repository, "insert_messages", self.insert_messages)

    def insert_messages(
        self, s: Session, messages: Sequence[Message], conversation: bool = False, attaching: bool = False
    ) -> None:
        """Fail while failures are left, else insert."""
        self.calls += 1
        if self._left:
            self._left -= 1
            raise OperationalError("INSERT INTO messages ...", {}, Exception(self._code, "Deadlock found"))
        self._real(s, messages, conversation, attaching)


def test_a_deadlocked_batch_is_retried_and_stores_each_send_once(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch rolled back by deadlocks is stored by retrying each send alone, every message once."""
    chat = Replica(database)
    room_id = chat.room(BOB)
    Deadlocks(monkeypatch, times=2)
    results = chat.messages.store([Send(ALICE, room_id, "d1", "one"), Send(BOB, room_id, "d2", "two")])
    assert [answer(r, room_id) for r in results] == [(1, 1, ALICE, "d1", "one", False), (2, 2, BOB, "d2", "two", False)]
    assert [row[0] for row in chat.stored(room_id)] == [1, 2]


@pytest.mark.parametrize(
    ("code", "attempts"),
    [(1213, 1 + ALONE_ATTEMPTS), (2006, 1)],  # a deadlock that lasts; MySQL server has gone away
    ids=["lasting-deadlock", "broken-database"],
)
def test_a_failure_that_lasts_is_raised_after_bounded_attempts(
    database: Database, monkeypatch: pytest.MonkeyPatch, code: int, attempts: int
) -> None:
    """A deadlock is retried a bounded number of times, a broken database not at all; then it is raised."""
    chat = Replica(database)
    room_id = chat.room()
    failing = Deadlocks(monkeypatch, times=100, code=code)
    with pytest.raises(OperationalError):
        chat.messages.store([Send(ALICE, room_id, "f", "never stored")])
    assert failing.calls == attempts
    assert chat.stored(room_id) == []
    assert chat.rooms.get(ALICE, room_id).last_seq == 0
