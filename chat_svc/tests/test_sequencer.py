"""The sequencer: per-room seq order after the broker, gaps filled from the database."""

from __future__ import annotations

import asyncio

import pytest

from chat_svc.sequencer import Sequencer
from parley.chat.v1 import chat_pb2 as pb

WAIT = 0.05


def created(room: int, seq: int) -> pb.Event:
    """A message_created event for `room` at `seq`."""
    return pb.Event(room_id=room, message_created=pb.Message(room_id=room, seq=seq, body=f"m{seq}"))


def typing(room: int) -> pb.Event:
    """A typing event in `room`."""
    return pb.Event(room_id=room, typing=pb.Typing(user_id=9))


class Database:
    """The messages that exist (seq 1..last per room), and the calls made to read them."""

    def __init__(self, last: dict[int, int]) -> None:
        self.last = last
        self.fills: list[tuple[int, int, int]] = []
        self.fail = 0

    async def fill(self, room: int, after: int, up_to: int) -> list[pb.Message]:
        """The stored messages of `room` after `after` up to `up_to`, failing while `fail` counts down."""
        self.fills.append((room, after, up_to))
        if self.fail:
            self.fail -= 1
            raise ConnectionError("database down")
        top = min(up_to, self.last.get(room, 0))
        return [pb.Message(room_id=room, seq=s, body=f"db{s}") for s in range(after + 1, top + 1)]

    async def last_seqs(self, rooms: list[int]) -> dict[int, int]:
        """The last stored seq of each room."""
        return {r: self.last.get(r, 0) for r in rooms}


class Out:
    def __init__(self) -> None:
        self.events: list[pb.Event] = []

    def __call__(self, events: list[pb.Event]) -> None:
        """Record the events the sequencer lets out."""
        self.events.extend(events)

    def seqs(self, room: int = 1) -> list[int]:
        """The seqs of the messages let out for `room`, in order."""
        return [e.message_created.seq for e in self.events if e.room_id == room and e.HasField("message_created")]

    def bodies(self, room: int = 1) -> list[str]:
        """The bodies of the messages let out for `room`, in order."""
        return [e.message_created.body for e in self.events if e.room_id == room and e.HasField("message_created")]


@pytest.fixture
def db() -> Database:
    """A database whose rooms 1 and 2 hold messages 1..100."""
    return Database({1: 100, 2: 100})


@pytest.fixture
def out() -> Out:
    """A recorder of what the sequencer lets out."""
    return Out()


@pytest.fixture
def seq(db: Database, out: Out) -> Sequencer:
    """A sequencer over `db` and `out` with a short gap wait."""
    return Sequencer(out, db.fill, db.last_seqs, gap_wait=WAIT)


async def settled(seq: Sequencer, room: int, last: int) -> None:
    """Make the sequencer know the room at `last`."""
    seq.offer([created(room, last)])
    await asyncio.sleep(WAIT * 2)


async def test_a_rooms_first_message_waits_for_late_ones_then_goes_out_in_order(seq: Sequencer, out: Out) -> None:
    """A room's first message waits out the gap wait for earlier late ones, then all go out in seq order."""
    seq.offer([created(1, 7)])
    seq.offer([created(1, 6)])  # published late by another replica
    assert out.seqs() == []
    await asyncio.sleep(WAIT * 2)
    assert out.seqs() == [6, 7]


async def test_in_order_messages_go_out_at_once(seq: Sequencer, out: Out, db: Database) -> None:
    """Messages that follow the last one go out at once, without reading the database."""
    await settled(seq, 1, 5)
    seq.offer([created(1, 6), created(1, 7)])
    seq.offer([created(1, 8)])
    assert out.seqs() == [5, 6, 7, 8]
    assert db.fills == []


async def test_out_of_order_messages_are_reordered_without_the_database(seq: Sequencer, out: Out, db: Database) -> None:
    """A message that comes before its predecessor waits for it, without reading the database."""
    await settled(seq, 1, 5)
    seq.offer([created(1, 7)])
    assert out.seqs() == [5]
    seq.offer([created(1, 6)])
    assert out.seqs() == [5, 6, 7]
    await asyncio.sleep(WAIT * 2)
    assert db.fills == []


async def test_a_missing_message_is_read_from_the_database(seq: Sequencer, out: Out, db: Database) -> None:
    """A gap that the broker never fills is read from the database after the gap wait."""
    await settled(seq, 1, 5)
    seq.offer([created(1, 8)])  # 6 and 7 were never published (their replica died)
    await asyncio.sleep(WAIT * 3)
    assert out.seqs() == [5, 6, 7, 8]
    assert out.bodies() == ["m5", "db6", "db7", "m8"]
    assert db.fills == [(1, 5, 7)]
    assert seq.filled == 2


async def test_duplicates_are_dropped(seq: Sequencer, out: Out) -> None:
    """Messages at or below the room's last seq, and repeats, are dropped."""
    await settled(seq, 1, 5)
    seq.offer([created(1, 6), created(1, 6), created(1, 4), created(1, 5)])
    assert out.seqs() == [5, 6]


async def test_other_events_wait_behind_a_gap_and_keep_their_place(seq: Sequencer, out: Out) -> None:
    """Other events of a room wait behind its gap and keep their place; other rooms are not held up."""
    await settled(seq, 1, 5)
    seq.offer([created(1, 7), typing(1), typing(2)])
    assert [e.room_id for e in out.events if e.HasField("typing")] == [2]  # room 2 is not held up
    seq.offer([created(1, 6)])
    kinds = [e.WhichOneof("kind") for e in out.events if e.room_id == 1]
    assert kinds == ["message_created", "message_created", "message_created", "typing"]


async def test_rooms_are_independent(seq: Sequencer, out: Out) -> None:
    """A gap in one room does not hold back another room's messages."""
    await settled(seq, 1, 5)
    await settled(seq, 2, 10)
    seq.offer([created(1, 7), created(2, 11)])
    assert out.seqs(2) == [10, 11]
    assert out.seqs(1) == [5]


async def test_the_sweep_finds_a_lost_last_message(seq: Sequencer, out: Out, db: Database) -> None:
    """A stored last message that was never published is read on the second sweep that finds it missing."""
    db.last[1] = 5
    await settled(seq, 1, 5)
    db.last[1] = 6  # seq 6 was stored, and its replica died before publishing it
    await seq.sweep()  # first sight: maybe it is just in flight
    assert out.seqs() == [5]
    await seq.sweep()  # still missing a sweep later: read it
    await asyncio.sleep(WAIT)
    assert out.seqs() == [5, 6]


async def test_the_sweep_leaves_a_message_in_flight_alone(seq: Sequencer, out: Out, db: Database) -> None:
    """A message that arrives between two sweeps is not read from the database."""
    db.last[1] = 5
    await settled(seq, 1, 5)
    db.last[1] = 6
    await seq.sweep()
    seq.offer([created(1, 6)])  # it arrived before the next sweep
    await seq.sweep()
    await asyncio.sleep(WAIT)
    assert out.seqs() == [5, 6]
    assert db.fills == []


async def test_a_failed_fill_is_retried(seq: Sequencer, out: Out, db: Database) -> None:
    """A failed read of a gap from the database is retried until the gap is filled."""
    await settled(seq, 1, 5)
    db.fail = 1
    seq.offer([created(1, 7)])
    await asyncio.sleep(WAIT * 5)
    assert out.seqs() == [5, 6, 7]
    assert len(db.fills) == 2


async def test_reset_forgets_rooms_and_ignores_fills_in_flight(seq: Sequencer, out: Out, db: Database) -> None:
    """After reset, a fill in flight lets nothing out and each room settles again from its next message."""
    await settled(seq, 1, 5)
    seq.offer([created(1, 9)])
    seq.reset()
    await asyncio.sleep(WAIT * 3)
    assert out.seqs() == [5]
    seq.offer([created(1, 20)])  # a new start: the room settles again from what comes
    await asyncio.sleep(WAIT * 2)
    assert out.seqs() == [5, 20]
