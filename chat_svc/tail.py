"""Tailing the live event stream for operators (ModerationService.TailEvents).

A tail is a subscription to this process's hub for every room (as a gateway's all-rooms stream),
filtered here by room and by the name of Event's `kind` field. It sees what happens from the
moment it is open: no replay (the history is ExportRoom's). It is cut off like any stream that
falls too far behind (ABORTED).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from chat_svc import rules
from chat_svc.events import EventHub, Subscription
from common.errors import InvalidArgument
from parley.chat.v1 import chat_pb2 as pb

KINDS = frozenset(field.name for field in pb.Event.DESCRIPTOR.oneofs_by_name["kind"].fields)


class Tail:
    """One open tail: its subscription and its filters."""

    def __init__(self, hub: EventHub, subscription: Subscription, rooms: set[int], kinds: set[str]) -> None:
        self._hub = hub
        self._subscription = subscription
        self._rooms = rooms  # empty: every room
        self._kinds = kinds  # empty: every kind

    def _wanted(self, event: pb.Event) -> bool:
        if self._rooms and event.room_id not in self._rooms:
            return False
        return not self._kinds or event.WhichOneof("kind") in self._kinds

    async def batches(self, max_events: int) -> AsyncIterator[list[pb.Event]]:
        """The wanted events as they come, in batches, until the caller stops (then close())."""
        while True:
            events = [e for e in await self._subscription.next_batch(max_events) if self._wanted(e)]
            if events:
                yield events

    def close(self) -> None:
        """Stop the subscription (twice is fine)."""
        self._hub.unsubscribe(self._subscription)


class Tails:
    """Opens tails on one hub."""

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub

    def open(self, room_ids: Iterable[int], kinds: Iterable[str]) -> Tail:
        """A tail of these rooms (none: all) and kinds (none: all); InvalidArgument for a kind Event has not."""
        rooms = set(rules.ids(room_ids, "room_ids", rules.TAIL_ROOMS_MAX))
        wanted = set(kinds)
        unknown = sorted(wanted - KINDS)
        if unknown:
            raise InvalidArgument(f"unknown event kind {unknown[0][:40]!r}; the kinds are {', '.join(sorted(KINDS))}")
        return Tail(self._hub, self._hub.subscribe(None, None), rooms, wanted)
