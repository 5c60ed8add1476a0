"""Two gateways and two chat_svc replicas sharing events through Redis; processes die mid-traffic.

Each test checks every client's raw transcript against chat_db: every stored message received
exactly once, in seq order, nothing lost, and prints the counts (`pytest -rP` shows them).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

import pytest

from tests.scale.client import ChatClient
from tests.scale.cluster import Cluster

pytestmark = [pytest.mark.mysql, pytest.mark.timeout(180)]


async def connected(cluster: Cluster, count: int, prefix: str) -> tuple[int, list[ChatClient]]:
    """`count` users in one room, alternately on gateway 0 and 1, each able to fail over to the other."""
    users = [cluster.register(f"{prefix}{i}") for i in range(count)]
    room = cluster.room(users[0][1], users[1:])
    urls = [cluster.ws_url(0), cluster.ws_url(1)]
    clients = [ChatClient(f"{prefix}{i}", uid, token, urls, at=i % 2) for i, (uid, token) in enumerate(users)]
    for client in clients:
        client.start()
    async with asyncio.timeout(20):
        await asyncio.gather(*(client.ready.wait() for client in clients))
    return room, clients


async def traffic(
    clients: list[ChatClient],
    room: int,
    per_client: int,
    interval: float,
    midway: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Every client sends per_client messages, one per interval; midway() runs a third of the way in."""

    async def sender(client: ChatClient) -> None:
        for n in range(per_client):
            await client.send(room, f"{client.name} #{n}")
            await asyncio.sleep(interval)

    senders = [asyncio.create_task(sender(client)) for client in clients]
    if midway is not None:
        await asyncio.sleep(per_client * interval / 3)
        await midway()
    await asyncio.gather(*senders)


async def settle(cluster: Cluster, clients: list[ChatClient], room: int, within: float = 45.0) -> list[int]:
    """Wait until every send is acked and every client holds every stored message; the stored seqs."""
    deadline = time.monotonic() + within
    while True:
        stored = [seq for seq, _ in cluster.stored(room)]
        done = all(not c.pending for c in clients) and all(set(stored) <= set(c.seqs(room)) for c in clients)
        if done or time.monotonic() > deadline:
            return stored
        await asyncio.sleep(0.25)


LOGGED = {
    "gateway_stream_breaks": "event stream from chat_svc broke",
    "gateway_send_stream_breaks": "send stream to chat_svc broke",
    "chat_broker_losses": "lost the broker",
    "chat_gap_fills": "from the database",
    "chat_dropped_publishes": "dropped",
}


def logged(cluster: Cluster) -> dict[str, int]:
    """How often the processes logged the events that show a failure was really handled."""
    lines = [line for process in [*cluster.gateways, *cluster.chats] for line in process.lines]
    return {name: sum(1 for line in lines if needle in line) for name, needle in LOGGED.items()}


def check(
    name: str, cluster: Cluster, clients: list[ChatClient], room: int, stored: list[int], since: int = 0
) -> dict[str, int]:
    """Exactly once, in order, gap-free, one stored message per send; print the figures."""
    sent = sum(c.sent for c in clients)
    reports = {c.name: c.report(room, stored, since) for c in clients}
    totals = {key: sum(r[key] for r in reports.values()) for key in next(iter(reports.values()))}
    totals["send_errors_retried"] = sum(c.send_errors for c in clients)
    figures = {"test": name, "clients": len(clients), "sent": sent, "messages_stored": len(stored) - since}
    events = logged(cluster)
    print(json.dumps({**figures, **totals, **events}))
    assert stored == list(range(1, len(stored) + 1)), "seqs must be gap-free and unique"
    assert len(stored) - since == sent, "each send is stored exactly once"
    assert all(not c.pending for c in clients), "every send is acked"
    for client_name, report in reports.items():
        assert report["lost"] == 0, (client_name, report)
        assert report["duplicated"] == 0, (client_name, report)
        assert report["out_of_order"] == 0, (client_name, report)
        assert report["received"] == report["deliveries_expected"], (client_name, report)
    return events


async def stop_all(clients: list[ChatClient]) -> None:
    """Stop every client at once."""
    await asyncio.gather(*(client.stop() for client in clients))


async def test_messages_reach_every_gateway_through_the_broker(cluster: Cluster) -> None:
    """Senders on both gateways, served by both chat_svc replicas: everyone gets everything, in order."""
    room, clients = await connected(cluster, 6, "bro")
    try:
        await traffic(clients, room, per_client=30, interval=0.01)
        stored = await settle(cluster, clients, room)
        check("broker", cluster, clients, room, stored)
    finally:
        await stop_all(clients)


async def test_killing_a_gateway_loses_nothing(cluster: Cluster) -> None:
    """SIGKILL gateway 1 mid-traffic: its clients move to gateway 0 and resume from their last seq."""
    room, clients = await connected(cluster, 6, "kgw")
    try:
        await traffic(
            clients, room, per_client=40, interval=0.02, midway=lambda: asyncio.to_thread(cluster.gateways[1].kill)
        )
        stored = await settle(cluster, clients, room)
        check("kill-gateway", cluster, clients, room, stored)
        moved = [c for c in clients if c.reconnects]
        assert len(moved) == 3, "the killed gateway's clients reconnected"
    finally:
        await stop_all(clients)


async def test_killing_a_chat_replica_loses_nothing(cluster: Cluster) -> None:
    """SIGKILL one chat_svc mid-traffic: gateways move their event stream and calls to the other."""
    room, clients = await connected(cluster, 6, "kcs")
    # The replica holding a gateway's all-rooms stream, so that a stream really breaks mid-traffic.
    victim = next(c for c in cluster.chats if any("all-rooms event stream opened" in line for line in c.lines))
    try:
        await traffic(clients, room, per_client=40, interval=0.02, midway=lambda: asyncio.to_thread(victim.kill))
        stored = await settle(cluster, clients, room)
        events = check("kill-chat-replica", cluster, clients, room, stored)
        assert events["gateway_stream_breaks"] >= 1
    finally:
        await stop_all(clients)


async def test_restarting_the_broker_loses_nothing(cluster: Cluster) -> None:
    """Kill Redis mid-traffic and start it again, empty: delivery resumes, gaps come from MySQL."""

    async def bounce() -> None:
        await asyncio.to_thread(cluster.broker.kill)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(cluster.broker.start)

    room, clients = await connected(cluster, 6, "rbr")
    try:
        await traffic(clients, room, per_client=40, interval=0.02, midway=bounce)
        stored = await settle(cluster, clients, room)
        events = check("restart-broker", cluster, clients, room, stored)
        assert events["chat_broker_losses"] == len(cluster.chats)
    finally:
        await stop_all(clients)


async def test_presence_spans_gateways_and_expires_with_a_dead_gateway(cluster: Cluster) -> None:
    """A user on gateway 1 is online for gateway 0; after gateway 1 dies silently, offline within the TTL."""
    (alice_id, alice_token), (bob_id, bob_token) = cluster.register("pa"), cluster.register("pb")
    room = cluster.room(alice_token, [(bob_id, bob_token)])
    alice = ChatClient("alice", alice_id, alice_token, [cluster.ws_url(0)])
    bob = ChatClient("bob", bob_id, bob_token, [cluster.ws_url(1)])
    alice.start()
    try:
        await asyncio.wait_for(alice.ready.wait(), 10)
        bob.start()
        await asyncio.wait_for(bob.ready.wait(), 10)

        async def until(condition: Callable[[], bool], within: float) -> float:
            started = time.monotonic()
            while not condition():
                assert time.monotonic() - started < within, "timed out"
                await asyncio.sleep(0.05)
            return time.monotonic() - started

        await until(lambda: (room, bob_id, True) in alice.presence, 5)
        for gateway in (0, 1):
            assert cluster.presence(alice_token, room, gateway) == sorted([alice_id, bob_id])

        await asyncio.to_thread(cluster.gateways[1].kill)  # no goodbye
        took = await until(lambda: (room, bob_id, False) in alice.presence, cluster.presence_ttl * 3)
        assert cluster.presence(alice_token, room, 0) == [alice_id]
        print(json.dumps({"test": "presence-expiry", "ttl_s": cluster.presence_ttl, "offline_after_s": round(took, 2)}))
    finally:
        await stop_all([alice, bob])
