"""Where published events go: straight to this process's hub, or through the broker to every replica.

Without a broker (the embedded default) the hub is the feed: writers publish into it and it fans out
to this process's streams, in order. With CHAT_BROKER_URL set, writers publish to the Redis stream;
each replica reads the stream, puts every room's messages back in seq order (the sequencer, which
also fills gaps from MySQL) and feeds its own hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from chat_svc import convert
from chat_svc.broker import RedisEventBus
from chat_svc.events import EventHub
from chat_svc.sequencer import Sequencer
from chat_svc.service import Chat
from chat_svc.settings import ChatSettings
from common.errors import ServiceError
from parley.chat.v1 import chat_pb2 as pb

log = logging.getLogger(__name__)

FILL_PAGE = 5000


class BrokerFeed:
    """The broker, the sequencer and the periodic gap sweep, feeding one hub."""

    def __init__(self, settings: ChatSettings, bus: RedisEventBus, chat: Chat, hub: EventHub) -> None:
        self._settings = settings
        self._chat = chat
        self._hub = hub
        self.bus = bus
        self.sequencer = Sequencer(hub.publish, self._fill, self._last_seqs, settings.gap_wait_seconds)
        self._sweeper: asyncio.Task[None] | None = None

    async def _fill(self, room_id: int, after: int, up_to: int) -> list[pb.Message]:
        messages = await self._chat.messages_after(room_id, after, min(up_to - after, FILL_PAGE))
        return [convert.message_pb(m) for m in messages]

    async def _last_seqs(self, room_ids: list[int]) -> dict[int, int]:
        return await self._chat.last_seqs(room_ids)

    def _lost(self) -> None:
        self.sequencer.reset()
        self._hub.interrupt("chat_svc lost its place in the event broker")

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._settings.gap_sweep_seconds)
            if self.bus.connected:
                try:
                    await self.sequencer.sweep()
                except ServiceError as exc:  # the database is down (retried already): next round
                    log.warning("gap sweep failed: %s; trying again next round", exc.message)
                except Exception:  # a bug: its stack, then next round
                    log.exception("gap sweep failed")

    async def check(self) -> str | None:
        """For readiness: None while the broker is reachable, else what is wrong."""
        return None if self.bus.connected else "the event broker is unreachable"

    async def start(self) -> None:
        """Connect to the broker; the hub accepts streams once the reader holds its place."""
        await self.bus.start(self.sequencer.offer, self._lost, self._hub.resume)
        self._sweeper = asyncio.create_task(self._sweep(), name="gap-sweep")

    async def stop(self) -> None:
        """Publish what is queued, then stop reading."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.bus.stop()
        self.sequencer.stop()
