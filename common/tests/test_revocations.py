"""Ended sessions over a real Redis: announced by one component, refused by the others, late joiners included."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from common.revocations import BrokerRevocations, RevokedSessions
from tests.support.redis import RedisServer


@pytest.fixture
async def announcer(broker: RedisServer) -> AsyncIterator[BrokerRevocations]:
    """auth_svc's side: announces ended sessions."""
    feed = BrokerRevocations(broker.url, RevokedSessions())
    yield feed
    await feed.stop()


async def _listener(url: str, heard: list[str]) -> BrokerRevocations:
    feed = BrokerRevocations(url, RevokedSessions(), lambda session_id, _disabled: heard.append(session_id))
    await feed.start()
    await asyncio.wait_for(feed.listening.wait(), 5)
    return feed


async def _until(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not heard in time"
        await asyncio.sleep(0.02)


async def test_an_announced_session_is_refused_by_a_listener(broker: RedisServer, announcer: BrokerRevocations) -> None:
    """A listening component refuses the session and is told of it once (its sockets close there)."""
    heard: list[str] = []
    listener = await _listener(broker.url, heard)
    try:
        await announcer.announce("s-1", time.time() + 60)
        await _until(lambda: heard == ["s-1"])
        await announcer.announce("s-1", time.time() + 60)  # again: already known, not told twice
        await asyncio.sleep(0.2)
        assert heard == ["s-1"]
    finally:
        await listener.stop()


async def test_a_late_joiner_loads_what_ended_before_it(broker: RedisServer, announcer: BrokerRevocations) -> None:
    """A component started after the announcement refuses the session too (the sorted set), expired ones left out."""
    await announcer.announce("before", time.time() + 60)
    await announcer.announce("expired", time.time() + 0.05)
    await asyncio.sleep(0.1)
    heard: list[str] = []
    listener = await _listener(broker.url, heard)
    try:
        assert heard == ["before"]
    finally:
        await listener.stop()


async def test_a_listener_reloads_after_the_broker_restarts(broker: RedisServer, announcer: BrokerRevocations) -> None:
    """After Redis restarts the listener reconnects and hears what is announced then."""
    heard: list[str] = []
    listener = await _listener(broker.url, heard)
    try:
        await asyncio.to_thread(broker.kill)
        await _until(lambda: not listener.listening.is_set())
        await asyncio.to_thread(broker.start)
        await asyncio.wait_for(listener.listening.wait(), 15)
        await announcer.announce("after", time.time() + 60)
        await _until(lambda: heard == ["after"])
    finally:
        await listener.stop()
