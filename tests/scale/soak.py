"""A soak: a stack at a steady chat load with reconnect churn for a long time, watched for leaks.

`scripts/soak` (not in CI) starts a broker, auth_svc, two chat_svc replicas and two gateways on fresh
MySQL databases, puts clients (tests/scale/client.py) in rooms, each sending at a steady rate, and
every few seconds drops one client and lets it resume by its cursors (on the other gateway). Each
minute it samples every process's RSS and open file descriptors and the send -> ack latency
percentiles (a send written while its client is away is acked once it is back: that is the tail).
At the end it checks every client's transcript against chat_db (each stored message once, in
order) and writes the report (JSON and Markdown) to var/soak/<time>/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.procstat import rss_kib
from tests.scale.client import ChatClient
from tests.scale.cluster import Cluster
from tests.support.processes import ROOT


def percentile(ordered: list[float], fraction: float) -> float | None:
    """The value at `fraction` of an ascending list (nearest rank), None when it is empty."""
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 1)


def open_fds(pid: int) -> int:
    """Open file descriptors of pid, 0 when the process is gone."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


@dataclass
class Soak:
    """The run's knobs and what it measured."""

    minutes: float
    rooms: int
    per_room: int
    rate: float  # messages per second per client
    churn_s: float
    samples: list[dict[str, Any]] = field(default_factory=list)
    resumes: int = 0  # clients dropped and resumed by cursor so far
    started: float = field(default_factory=time.monotonic)

    def sample(self, cluster: Cluster, clients: list[ChatClient], since: float) -> dict[str, Any]:
        """RSS (MiB) and fds of each process, and the ack latencies since `since`."""
        processes = {
            f"{module}{'' if len(running) == 1 else f'-{i}'}": p.process.pid
            for module, running in cluster.stack.processes.items()
            for i, p in enumerate(running)
        }
        latencies = sorted(ms for c in clients for at, ms in c.ack_ms if at >= since)
        row = {
            "minute": round((time.monotonic() - self.started) / 60, 1),
            "rss_mib": {name: round(rss_kib(pid) / 1024, 1) for name, pid in processes.items()},
            "fds": {name: open_fds(pid) for name, pid in processes.items()},
            "acks": len(latencies),
            "ack_p50_ms": percentile(latencies, 0.5),
            "ack_p99_ms": percentile(latencies, 0.99),
            "ack_max_ms": percentile(latencies, 1.0),
            "resumes": self.resumes,
        }
        self.samples.append(row)
        print(json.dumps(row), flush=True)
        return row


async def connect(soak: Soak, cluster: Cluster) -> tuple[list[ChatClient], dict[str, int]]:
    """The clients, connected and caught up, and each one's room."""
    users = [cluster.register(f"soak{i}") for i in range(soak.rooms * soak.per_room)]
    urls = [cluster.ws_url(0), cluster.ws_url(1)]
    clients: list[ChatClient] = []
    rooms: dict[str, int] = {}
    for r in range(soak.rooms):
        members = users[r * soak.per_room : (r + 1) * soak.per_room]
        room = cluster.room(members[0][1], members[1:], name=f"soak {r}")
        for i, (uid, token) in enumerate(members):
            client = ChatClient(f"r{r}c{i}", uid, token, urls, at=i % 2)
            clients.append(client)
            rooms[client.name] = room
    for client in clients:
        client.start()
    async with asyncio.timeout(60):
        await asyncio.gather(*(c.ready.wait() for c in clients))
    return clients, rooms


async def account(cluster: Cluster, clients: list[ChatClient], rooms: dict[str, int]) -> dict[str, Any]:
    """Once every send is acked (or a minute passed): each client's transcript against chat_db."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(c.pending for c in clients):  # noqa: ASYNC110 - polling clients
        await asyncio.sleep(0.5)
    await asyncio.sleep(2.0)  # the last deliveries
    stored = {room: [seq for seq, _ in cluster.stored(room)] for room in set(rooms.values())}
    reports = {c.name: c.report(rooms[c.name], stored[rooms[c.name]]) for c in clients}
    totals = {key: sum(r[key] for r in reports.values()) for key in next(iter(reports.values()))}
    return {
        "sent": sum(c.sent for c in clients),
        "stored": sum(len(s) for s in stored.values()),
        "unacked": sum(len(c.pending) for c in clients),
        "send_errors_retried": sum(c.send_errors for c in clients),
        **totals,
    }


async def run(soak: Soak, cluster: Cluster) -> dict[str, Any]:
    """Drive the load, sample each minute, then account for every message."""
    clients, rooms = await connect(soak, cluster)
    end = time.monotonic() + soak.minutes * 60

    async def sender(client: ChatClient) -> None:
        await asyncio.sleep(random.uniform(0, 1 / soak.rate))
        while time.monotonic() < end:
            await client.send(rooms[client.name], f"{client.name} {client.sent}")
            await asyncio.sleep(1 / soak.rate)

    async def churn() -> None:
        while time.monotonic() < end:
            await asyncio.sleep(soak.churn_s)
            victim = random.choice(clients)
            await victim.stop()  # its cursors, pending sends and transcript are kept: it resumes
            await asyncio.sleep(random.uniform(0.2, 2.0))
            victim.at += 1
            victim.start()
            soak.resumes += 1

    async def sampler() -> None:
        soak.sample(cluster, clients, time.monotonic())  # the start
        since = time.monotonic()
        while time.monotonic() < end:
            await asyncio.sleep(min(60.0, max(0.0, end - time.monotonic())))
            soak.sample(cluster, clients, since)
            since = time.monotonic()

    await asyncio.gather(*(sender(c) for c in clients), churn(), sampler())
    try:
        return await account(cluster, clients, rooms)
    finally:
        await asyncio.gather(*(c.stop() for c in clients))


def markdown(soak: Soak, accounting: dict[str, Any]) -> str:
    """The report as a page: the knobs, RSS and fds at start / after warm-up / end, latency per minute."""
    first, warm, last = soak.samples[0], soak.samples[min(1, len(soak.samples) - 1)], soak.samples[-1]
    lines = [
        f"# Soak: {soak.minutes:g} min, {soak.rooms} rooms of {soak.per_room}, {soak.rate:g} msg/s per client, "
        f"a reconnect every {soak.churn_s:g} s",
        "",
        "| process | RSS MiB start / warm / end | fds start / warm / end |",
        "| --- | --- | --- |",
    ]
    for name in first["rss_mib"]:
        rss = " / ".join(str(s["rss_mib"][name]) for s in (first, warm, last))
        fds = " / ".join(str(s["fds"][name]) for s in (first, warm, last))
        lines.append(f"| {name} | {rss} | {fds} |")
    lines += [
        "",
        "| minute | acks | p50 ms | p99 ms | max ms | resumes so far |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in soak.samples[1:]:
        cells = (s["minute"], s["acks"], s["ack_p50_ms"], s["ack_p99_ms"], s["ack_max_ms"], s["resumes"])
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    lines += ["", "Accounting: " + ", ".join(f"{k} {v}" for k, v in accounting.items())]
    return "\n".join(lines) + "\n"


def main() -> None:
    """`scripts/soak [--minutes 30] ...`: exit 0 when nothing was lost, doubled or left unacked."""
    parser = argparse.ArgumentParser(prog="scripts/soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rooms", type=int, default=3)
    parser.add_argument("--per-room", type=int, default=4)
    parser.add_argument("--rate", type=float, default=2.0, help="messages per second per client")
    parser.add_argument("--churn-s", type=float, default=10.0, help="seconds between two reconnects")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    soak = Soak(args.minutes, args.rooms, args.per_room, args.rate, args.churn_s)
    out = args.out or ROOT / "var" / "soak" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(out / "stack")
    cluster.stack.env = {**cluster.stack.env, "AUTH_ACCESS_TOKEN_TTL_SECONDS": str(int(args.minutes * 60 + 600))}
    try:
        cluster.start()
        accounting = asyncio.run(run(soak, cluster))
    finally:
        cluster.stop()
    (out / "report.json").write_text(json.dumps({"samples": soak.samples, "accounting": accounting}, indent=2))
    (out / "report.md").write_text(markdown(soak, accounting))
    print(markdown(soak, accounting))
    bad = accounting["lost"] or accounting["duplicated"] or accounting["out_of_order"] or accounting["unacked"]
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
