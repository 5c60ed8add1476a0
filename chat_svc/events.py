"""In-process event fan-out: the embedded default when no broker is configured.

Writers publish events after their transaction commits; each StreamEvents call holds a
Subscription with a bounded buffer. A subscriber that falls more than `limit` events behind is cut
off (its stream ends ABORTED) rather than slowing writers or growing memory: it reconnects and
resumes from its cursors, reading what it missed from the database, the source of truth.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Protocol

from common.errors import Aborted, Unavailable
from parley.chat.v1 import chat_pb2 as pb


class EventSink(Protocol):
    """Where writers publish events: the hub itself, or the broker (chat_svc/feed.py)."""

    def publish(self, events: Sequence[pb.Event]) -> None:
        """Publish from the event loop."""

    def publish_threadsafe(self, events: Sequence[pb.Event]) -> None:
        """Publish from a worker thread, keeping call order."""


class Subscription:
    """One stream's view of the events: every room (services) or one user's rooms."""

    def __init__(self, user_id: int | None, rooms: set[int] | None, limit: int) -> None:
        self.user_id = user_id
        self.rooms = rooms  # None: every room
        self._limit = limit
        self._buffer: deque[pb.Event] = deque()
        self._ready = asyncio.Event()
        self.overflowed = False
        self.closed = False
        self._closed_because = ""
        # Rooms the user left before follow() was called: the membership read that follow() gets
        # may predate the leave, and the leave must win. None once follow() has run.
        self._left_early: set[int] | None = set()

    def _wants(self, event: pb.Event) -> bool:
        if self.rooms is None:
            return True
        kind = event.WhichOneof("kind")
        if kind == "invitation_changed":  # about a room the invitee is not in (yet): theirs alone
            return event.invitation_changed.invitation.user_id == self.user_id
        if kind == "member_joined" and event.member_joined.user_id == self.user_id:
            self.rooms.add(event.room_id)  # rooms joined after connecting are followed too
            if self._left_early is not None:
                self._left_early.discard(event.room_id)
            return True
        if kind == "member_left" and event.member_left.user_id == self.user_id and self._left_early is not None:
            self._left_early.add(event.room_id)
        if event.room_id not in self.rooms:
            return False
        if kind == "member_left" and event.member_left.user_id == self.user_id:
            self.rooms.discard(event.room_id)
        if kind == "read_marker":
            return event.read_marker.user_id == self.user_id  # other people's markers are private
        if kind == "member_settings":
            return event.member_settings.user_id == self.user_id  # as are their settings
        return True

    @property
    def buffered(self) -> int:
        """Events waiting to be taken."""
        return len(self._buffer)

    def follow(self, rooms: Iterable[int]) -> None:
        """Also deliver these rooms' events, except rooms the user has left since subscribing."""
        if self.rooms is not None:
            left = self._left_early or set()
            self.rooms.update(room for room in rooms if room not in left)
            self._left_early = None

    def offer(self, event: pb.Event) -> None:
        """Buffer the event if this subscriber wants it; mark overflow past the limit."""
        if self.overflowed or self.closed or not self._wants(event):
            return
        if len(self._buffer) >= self._limit:
            self.overflowed = True
            self._buffer.clear()
        else:
            self._buffer.append(event)
        self._ready.set()

    def close(self, because: str = "chat_svc is shutting down") -> None:
        """End the subscription: its stream ends with UNAVAILABLE, giving `because`."""
        self.closed = True
        self._closed_because = because
        self._ready.set()

    async def next_batch(self, max_events: int) -> list[pb.Event]:
        """Wait for events and take up to max_events of them."""
        while not self._buffer:
            if self.overflowed:
                raise Aborted("event stream fell too far behind; reconnect and resume from your cursors")
            if self.closed:
                raise Unavailable(f"{self._closed_because}; reconnect and resume from your cursors")
            self._ready.clear()
            await self._ready.wait()
        count = min(max_events, len(self._buffer))
        return [self._buffer.popleft() for _ in range(count)]


class EventHub:
    """Delivers published events to every live subscription of this process.

    With a broker, the hub is fed by the broker's reader and is only `available` while that reader
    holds its place in the stream; otherwise streams would silently miss events.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int = 10_000, available: bool = True) -> None:
        self._loop = loop
        self._limit = limit
        self._subscriptions: set[Subscription] = set()
        self._closed = False
        self._unavailable_because = "" if available else "the event feed is starting"

    def subscribe(self, user_id: int | None, rooms: Iterable[int] | None) -> Subscription:
        """A new subscription for one user's rooms, or every room when rooms is None."""
        subscription = Subscription(user_id, None if rooms is None else set(rooms), self._limit)
        if self._closed:  # shutting down: the stream ends at once with UNAVAILABLE
            subscription.close()
        elif self._unavailable_because:
            subscription.close(self._unavailable_because)
        else:
            self._subscriptions.add(subscription)
        return subscription

    def subscribers(self) -> int:
        """How many subscriptions get events (read from the metrics thread: len is atomic)."""
        return len(self._subscriptions)

    def deepest(self) -> int:
        """Events waiting in the fullest subscription's buffer (a metrics scrape; tuple() copies at once)."""
        return max((s.buffered for s in tuple(self._subscriptions)), default=0)

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to a subscription."""
        self._subscriptions.discard(subscription)

    def publish(self, events: Sequence[pb.Event]) -> None:
        """Deliver events, in order, to every subscription. Call on the event loop."""
        for subscription in tuple(self._subscriptions):
            for event in events:
                subscription.offer(event)

    def publish_threadsafe(self, events: Sequence[pb.Event]) -> None:
        """publish() from a worker thread; callbacks run in call order, so order is kept."""
        self._loop.call_soon_threadsafe(self.publish, list(events))

    def interrupt(self, because: str) -> None:
        """End every subscription, and refuse new ones until resume(): the feed lost events."""
        self._unavailable_because = because
        for subscription in tuple(self._subscriptions):
            subscription.close(because)
        self._subscriptions.clear()

    def resume(self) -> None:
        """Accept subscriptions again: the feed is whole from now on."""
        self._unavailable_because = ""

    def close(self) -> None:
        """End every subscription, and any made from now on."""
        self._closed = True
        for subscription in tuple(self._subscriptions):
            subscription.close()
