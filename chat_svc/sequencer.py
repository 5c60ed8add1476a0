"""Puts each room's new messages back in seq order after the broker, and fills gaps from MySQL.

Replicas publish after they commit, so two replicas that store seq 5 and 6 of a room a moment apart
may publish them in the other order, and a replica killed between its commit and its publish never
publishes at all. Downstream, gateways drop a seq at or below the last one they sent, so a message
that arrives late or never would be lost to their clients. The sequencer holds a room's events back
while a seq is missing, for at most `gap_wait`, then reads the missing messages from MySQL (the
source of truth: a committed seq means every lower seq is committed too) and releases them in order.

A room's first event after start or reset is held for `gap_wait` too, so that a message published
late by another replica is not taken for an old one. A periodic sweep compares recently active rooms
with their last seq in MySQL, so a lost message is found even when no later message follows it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from chat_svc import metrics
from parley.chat.v1 import chat_pb2 as pb

log = logging.getLogger(__name__)

# Messages of a room with seq in (after, up_to], ascending; and the last seq of each room.
Fill = Callable[[int, int, int], Awaitable[list[pb.Message]]]
LastSeqs = Callable[[list[int]], Awaitable[dict[int, int]]]
Emit = Callable[[list[pb.Event]], None]


@dataclass
class _Room:
    last: int | None  # newest seq released downstream; None until the room's first event settles
    held: list[pb.Event] = field(default_factory=list)  # waiting for a missing seq, in arrival order
    timer: asyncio.TimerHandle | None = None
    filling: bool = False
    touched: float = 0.0
    suspect: int = 0  # the database's last seq at the previous sweep, when it was ahead of `last`


def _seq(event: pb.Event) -> int:
    return event.message_created.seq if event.HasField("message_created") else 0


class Sequencer:
    """Releases message_created events of each room gap-free and in seq order; other events pass."""

    def __init__(
        self,
        emit: Emit,
        fill: Fill,
        last_seqs: LastSeqs,
        gap_wait: float = 0.25,
        active_window: float = 120.0,
    ) -> None:
        self._emit = emit
        self._fill = fill
        self._last_seqs = last_seqs
        self._gap_wait = gap_wait
        self._active_window = active_window
        self._rooms: dict[int, _Room] = {}
        self._generation = 0  # bumped by reset(): fills started before it are ignored
        self._tasks: set[asyncio.Task[None]] = set()
        self.filled = 0  # messages read from MySQL because the broker did not bring them in time

    # -- intake -------------------------------------------------------------------------------------

    def offer(self, events: Iterable[pb.Event]) -> None:
        """Take events from the broker, in the order it delivered them; emit what is in order."""
        out: list[pb.Event] = []
        now = time.monotonic()
        for event in events:
            room = self._rooms.get(event.room_id)
            seq = _seq(event)
            if room is None:
                if not seq:
                    out.append(event)
                    continue
                room = self._rooms[event.room_id] = _Room(last=None, touched=now)
                room.held.append(event)
                self._arm(event.room_id, room)
                continue
            room.touched = now
            if room.held or room.last is None or room.filling:
                room.held.append(event)
                if seq:
                    out.extend(self._release(room))
                continue
            if not seq:
                out.append(event)
            elif seq == room.last + 1:
                room.last = seq
                out.append(event)
            elif seq > room.last + 1:
                room.held.append(event)
                self._arm(event.room_id, room)
            # seq <= last: a duplicate (a retried send re-publishes its message); drop it
        if out:
            self._emit(out)

    def _release(self, room: _Room) -> list[pb.Event]:
        """The held events, if their messages now follow `last` without a gap; else nothing."""
        if room.last is None or room.filling:
            return []
        created = sorted({_seq(e): e for e in room.held if _seq(e) > room.last}.items())
        if any(seq != room.last + 1 + i for i, (seq, _) in enumerate(created)):
            return []
        others = [e for e in room.held if not _seq(e)]
        room.held = []
        if room.timer is not None:
            room.timer.cancel()
            room.timer = None
        if created:
            room.last = created[-1][0]
        return [event for _, event in created] + others

    def _arm(self, room_id: int, room: _Room) -> None:
        if room.timer is None:
            loop = asyncio.get_running_loop()
            room.timer = loop.call_later(self._gap_wait, self._expired, room_id, room)

    # -- gaps ---------------------------------------------------------------------------------------

    def _expired(self, room_id: int, room: _Room) -> None:
        """A room waited gap_wait for a missing seq (or to settle): read what is missing."""
        room.timer = None
        if self._rooms.get(room_id) is not room or not room.held:
            return
        held = [_seq(e) for e in room.held if _seq(e)]
        if room.last is None:  # first events of the room: nothing before the oldest one is owed
            room.last = min(held) - 1
        out = self._release(room)
        if out:
            self._emit(out)
        elif held:
            self._start_fill(room_id, room, max(held) - 1)  # what is missing lies below the newest held

    def _start_fill(self, room_id: int, room: _Room, up_to: int) -> None:
        assert room.last is not None
        room.filling = True
        task = asyncio.create_task(self._do_fill(room_id, room, room.last, up_to, self._generation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _do_fill(self, room_id: int, room: _Room, after: int, up_to: int, generation: int) -> None:
        try:
            messages = await self._fill(room_id, after, up_to)
        except Exception:  # noqa: BLE001 - the database is unreachable: try again after gap_wait
            log.warning("filling room %s after seq %s from the database failed; retrying", room_id, after)
            messages = None
        if generation != self._generation or self._rooms.get(room_id) is not room:
            return
        room.filling = False
        if messages is None:
            self._arm(room_id, room)
            return
        fetched = [pb.Event(room_id=room_id, message_created=m) for m in messages if m.seq > after]
        if fetched:
            self.filled += len(fetched)
            metrics.GAP_FILLS.inc(len(fetched))
            log.info("filled %d message(s) of room %s from the database", len(fetched), room_id)
        room.held = fetched + room.held
        out = self._release(room)
        if out:
            self._emit(out)
        elif room.held:
            self._arm(room_id, room)

    async def sweep(self) -> None:
        """Find messages that never came through the broker, in rooms active lately, and fill them."""
        now = time.monotonic()
        for room_id in [r for r, room in self._rooms.items() if now - room.touched > self._active_window]:
            idle = self._rooms.pop(room_id)
            if idle.timer is not None:
                idle.timer.cancel()
        quiet = [r for r, room in self._rooms.items() if room.last is not None and not room.held and not room.filling]
        if not quiet:
            return
        generation = self._generation
        latest = await self._last_seqs(quiet)
        if generation != self._generation:
            return
        for room_id, db_last in latest.items():
            room = self._rooms.get(room_id)
            if room is None or room.last is None or room.held or room.filling:
                continue
            if room.suspect and room.last < room.suspect:
                # Behind the database for a whole sweep interval: those messages are not coming.
                room.suspect = 0
                self._start_fill(room_id, room, db_last)
            else:
                room.suspect = db_last if db_last > room.last else 0

    # -- lifecycle ----------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every room (the broker lost events; downstream resyncs from MySQL)."""
        self._generation += 1
        for room in self._rooms.values():
            if room.timer is not None:
                room.timer.cancel()
        self._rooms.clear()

    def stop(self) -> None:
        """Cancel timers and fills."""
        self.reset()
        for task in self._tasks:
            task.cancel()

    @property
    def waiting(self) -> int:
        """Rooms holding events back right now."""
        return sum(1 for room in self._rooms.values() if room.held)
