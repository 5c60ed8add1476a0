"""Striped per-room locks: a room's writes in this process commit and publish one at a time.

The database's room row lock already orders writers across replicas; this lock also covers the
publish that follows each commit, so a room's events leave this process in the order they were
committed (seq order for new messages).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

STRIPES = 256


class RoomLocks:
    """A fixed set of locks; room id modulo the stripe count picks a room's lock."""

    def __init__(self, stripes: int = STRIPES) -> None:
        self._locks = [threading.Lock() for _ in range(stripes)]

    def of(self, room_id: int) -> threading.Lock:
        """The lock of one room."""
        return self._locks[room_id % len(self._locks)]

    @contextmanager
    def holding(self, room_ids: Iterable[int]) -> Iterator[None]:
        """Hold the locks of several rooms, taken in stripe order so that two holders cannot deadlock."""
        stripes = [self._locks[i] for i in sorted({room_id % len(self._locks) for room_id in room_ids})]
        for lock in stripes:
            lock.acquire()
        try:
            yield
        finally:
            for lock in reversed(stripes):
                lock.release()
