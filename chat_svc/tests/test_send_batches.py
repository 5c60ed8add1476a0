"""Group commit: Messages.store stores a batch in one transaction, each send with its own result."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from chat_svc.domain import Send
from chat_svc.history import History
from chat_svc.locks import RoomLocks
from chat_svc.messages import Messages
from chat_svc.publisher import Publisher
from chat_svc.rooms import Rooms
from chat_svc.sends import SendBatcher
from chat_svc.tests.helpers import AcceptingRooms
from common.db import Database
from common.errors import InvalidArgument, NotFound, PermissionDenied
from parley.chat.v1 import chat_pb2 as pb

ALICE, BOB, CAROL = 1, 2, 3


class Published:
    def __init__(self) -> None:
        self.events: list[pb.Event] = []

    def __call__(self, events: Sequence[pb.Event]) -> None:
        """Record the published events."""
        self.events.extend(events)

    def seqs(self, room: int) -> list[int]:
        """The seqs of the messages published in `room`, in publish order."""
        return [e.message_created.seq for e in self.events if e.room_id == room and e.HasField("message_created")]


@pytest.fixture
def published() -> Published:
    """A recorder of what the service publishes."""
    return Published()


@dataclass
class Chat:
    """chat_svc's rooms, messages and history over one database, publishing into one recorder."""

    db: Database
    publisher: Publisher
    locks: RoomLocks
    rooms: Rooms
    messages: Messages
    history: History


@pytest.fixture
def chat(tmp_path: Path, migrated_sqlite: Path, published: Published) -> Iterator[Chat]:
    """A Chat on a fresh copy of the migrated SQLite database, publishing into `published`."""
    path = tmp_path / "chat.db"
    shutil.copyfile(migrated_sqlite, path)
    db = Database(f"sqlite:///{path}", threads=4)
    publisher, locks = Publisher(published), RoomLocks()
    yield Chat(db, publisher, locks, AcceptingRooms(db, publisher, locks), Messages(db, publisher, locks), History(db))
    db.close()


def room(chat: Chat, owner: int, *members: int, kind: int = pb.ROOM_KIND_PRIVATE) -> int:
    """Create a room owned by `owner` with `members` and return its id."""
    return chat.rooms.create(owner, kind, "batch", "", list(members)).id


def test_a_batch_numbers_each_room_gap_free_and_answers_each_send(chat: Chat, published: Published) -> None:
    """One batch numbers each room gap-free and answers each send alone: stored, refused or replayed."""
    one, two = room(chat, ALICE, BOB), room(chat, BOB)
    chat.messages.send(ALICE, one, "old", "already here")
    published.events.clear()
    results = chat.messages.store(
        [
            Send(ALICE, one, "a1", "hi"),
            Send(BOB, two, "b1", "other room"),
            Send(CAROL, one, "c1", "not a member"),
            Send(ALICE, 999, "x", "no such room"),
            Send(BOB, one, "b2", "hello"),
            Send(ALICE, one, "old", "a retry of a stored message"),
            Send(ALICE, one, "a1", "the same key twice in one batch"),
        ]
    )
    first, other, stranger, nowhere, second, retry, twice = results
    assert isinstance(first, tuple) and isinstance(second, tuple) and isinstance(other, tuple)
    assert (first[0].seq, first[1]) == (2, False)
    assert (second[0].seq, second[1]) == (3, False)
    assert (other[0].seq, other[0].room_id) == (1, two)
    assert isinstance(stranger, PermissionDenied) and "not a member" in stranger.message
    assert isinstance(nowhere, NotFound)
    assert isinstance(retry, tuple) and (retry[0].seq, retry[0].body, retry[1]) == (1, "already here", True)
    assert isinstance(twice, tuple) and (twice[0].seq, twice[1]) == (2, True)
    stored, _ = chat.history.page(ALICE, one, 0, True, 50)
    assert [(m.seq, m.body) for m in stored] == [(1, "already here"), (2, "hi"), (3, "hello")]
    assert sorted(set(published.seqs(one))) == [1, 2, 3]  # the retry is published again
    assert chat.rooms.get(ALICE, one).last_seq == 3
    assert [r.last_read_seq for r in chat.rooms.list_mine(BOB)[0] if r.room.id == one] == [3]


def test_a_batch_of_nothing_valid_changes_nothing(chat: Chat, published: Published) -> None:
    """A batch whose every send is refused stores and publishes nothing."""
    one = room(chat, ALICE)
    published.events.clear()
    results = chat.messages.store([Send(BOB, one, "b", "x"), Send(BOB, 12345, "b", "x")])
    assert [type(r) for r in results] == [PermissionDenied, NotFound]
    assert chat.rooms.get(ALICE, one).last_seq == 0
    assert published.events == []


async def test_concurrent_sends_share_commits_and_stay_gap_free(chat: Chat, published: Published) -> None:
    """Concurrent sends through the batcher share transactions, get gap-free seqs and are published in seq order."""
    one = room(chat, ALICE, BOB, CAROL)
    batcher = SendBatcher(chat.messages, chat.db, max_batch=64)
    sends = [batcher.send(user, one, f"{user}-{n}", f"m{n}") for n in range(100) for user in (ALICE, BOB, CAROL)]
    results = await asyncio.gather(*sends)
    assert sorted(m.seq for m, _ in results) == list(range(1, 301))
    assert batcher.sends == 300 and batcher.batches < 300  # several sends per transaction
    assert published.seqs(one) == list(range(1, 301))  # published in seq order


async def test_the_batcher_raises_each_senders_own_error(chat: Chat) -> None:
    """The batcher raises each refused send's own error to its sender and still stores the others in the batch."""
    one = room(chat, ALICE)
    batcher = SendBatcher(Messages(chat.db, chat.publisher, chat.locks, max_message_chars=10), chat.db)
    with pytest.raises(InvalidArgument):
        await batcher.send(ALICE, one, "k", "far too long for ten")
    ok, refused = await asyncio.gather(
        batcher.send(ALICE, one, "k1", "fine"), batcher.send(BOB, one, "k2", "fine"), return_exceptions=True
    )
    assert isinstance(ok, tuple) and ok[0].seq == 1
    assert isinstance(refused, PermissionDenied)


async def test_each_rooms_sends_keep_their_order_across_lanes(chat: Chat, published: Published) -> None:
    """With several lanes, each room's messages are still stored in the order they were submitted."""
    rooms = [room(chat, ALICE, BOB) for _ in range(4)]
    batcher = SendBatcher(chat.messages, chat.db, max_batch=8, lanes=2)
    futures = [batcher.submit(ALICE, r, f"{r}-{n}", f"{n}") for n in range(40) for r in rooms]
    results = await asyncio.gather(*futures)
    for r in rooms:
        stored, _ = chat.history.page(ALICE, r, 0, True, 100)
        assert [m.body for m in stored] == [str(n) for n in range(40)]  # submission order is seq order
    assert all(isinstance(result, tuple) for result in results)
