"""A Redis pub/sub channel listened to for as long as a process runs (the gateways' news, ended sessions)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as redis

log = logging.getLogger(__name__)


async def listen_forever(
    url: str,
    channel: str,
    reload: Callable[[redis.Redis], Awaitable[None]],
    on_message: Callable[[dict[str, Any]], None],
    what: str,
    on_lost: Callable[[], None] = lambda: None,
) -> None:
    """Deliver the channel's JSON messages to on_message until cancelled, reconnecting with backoff.

    Pub/sub keeps nothing for a listener that was away, so on every (re)connect `reload` reads the
    state the messages describe, after subscribing, so that nothing published in between is missed.
    """
    delay = 0.2
    while True:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(channel)
                await reload(client)
                delay = 0.2
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        on_message(orjson.loads(message["data"]))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - reconnect and reload
            on_lost()
            log.warning("lost %s (%s); reconnecting", what, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()
