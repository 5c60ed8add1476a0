"""The Redis event bus against a real redis-server of the test's own, killed and restarted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from chat_svc.broker import RedisEventBus
from parley.chat.v1 import chat_pb2 as pb
from tests.support.redis import RedisServer


class Replica:
    """A bus and what it got."""

    def __init__(self, url: str) -> None:
        self.bus = RedisEventBus(url, "test:events", 10_000)
        self.got: list[int] = []
        self.lost = 0
        self.ready = asyncio.Event()

    def _deliver(self, events: list[pb.Event]) -> None:
        self.got.extend(e.message_created.seq for e in events)

    def _lost(self) -> None:
        self.lost += 1
        self.ready.clear()

    async def start(self) -> None:
        """Subscribe and wait until the bus reports it is ready."""
        await self.bus.start(self._deliver, self._lost, self.ready.set)
        await asyncio.wait_for(self.ready.wait(), 5)


@pytest.fixture
async def replicas(broker: RedisServer) -> AsyncIterator[tuple[Replica, Replica]]:
    """Two replicas on one Redis, each with its own bus."""
    one, two = Replica(broker.url), Replica(broker.url)
    await one.start()
    await two.start()
    yield one, two
    await one.bus.stop()
    await two.bus.stop()


def message(seq: int) -> pb.Event:
    """A message_created event for room 1 carrying `seq`."""
    return pb.Event(room_id=1, message_created=pb.Message(room_id=1, seq=seq))


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until `condition` holds, failing after `within` seconds."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polls state that other tasks change
            await asyncio.sleep(0.02)


async def test_every_replica_gets_every_event_in_publish_order(replicas: tuple[Replica, Replica]) -> None:
    """Every replica, the publisher too, receives every published event once, in publish order."""
    one, two = replicas
    for seq in range(1, 301):
        one.bus.publish([message(seq)])
    await until(lambda: len(two.got) == 300 and len(one.got) == 300)
    assert one.got == two.got == list(range(1, 301))
    assert one.bus.published == 300


async def test_publishing_from_a_worker_thread_keeps_order(replicas: tuple[Replica, Replica]) -> None:
    """Events published from a worker thread arrive in the order the thread published them."""
    one, two = replicas

    def worker() -> None:
        for seq in range(1, 51):
            one.bus.publish_threadsafe([message(seq)])

    await asyncio.to_thread(worker)
    await until(lambda: len(two.got) == 50)
    assert two.got == list(range(1, 51))


async def test_a_broker_restart_is_reported_lost_then_ready(
    broker: RedisServer, replicas: tuple[Replica, Replica]
) -> None:
    """Losing Redis is reported to every replica, a send meanwhile is dropped (never late), and delivery resumes."""
    one, two = replicas
    broker.kill()
    await until(lambda: one.lost == 1 and two.lost == 1)
    one.bus.publish([message(1)])  # refused: dropped after a few attempts, never delivered late
    await until(lambda: one.bus.dropped == 1)
    broker.start()
    await asyncio.wait_for(asyncio.gather(one.ready.wait(), two.ready.wait()), 10)
    one.bus.publish([message(2)])
    await until(lambda: two.got == [2])
    assert one.got == [2]
