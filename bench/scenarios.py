"""The four scenarios: who connects, who sends how, and which figures come out.

- latency: rooms of N members, a fixed offered rate (open loop), end-to-end latency to every other member;
- throughput: rooms of N members, closed-loop senders as fast as acks come back; acked (durable)
  messages per second, each checked delivered to every member;
- fanout: one big room; short steps at rising message rates (bench/ramp.py) find the highest rate
  the gateway sustains, and its message frames per second delivered are the figure;
- idle: many sockets that only ping at the heartbeat interval; the gateway's RSS per connection.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from bench import dbstatus, metrics
from bench.plans import ClientSpec, Connected, Drain, Go, Outcome, Plan, Sent
from bench.procstat import cpu_seconds, machine_busy_seconds, rss_kib
from bench.ramp import RateSearch, shortfall
from bench.results import ScenarioResult
from bench.targets import Target, User
from bench.workers import Pool

SCENARIOS = ("latency", "throughput", "fanout", "idle")


@dataclass(frozen=True)
class Sizes:
    """Scenario sizes; the defaults are the full preset (issue 7's targets)."""

    duration_s: float = 20.0
    drain_s: float = 30.0
    latency_rooms: int = 100
    latency_room_size: int = 10
    latency_rate: float = 1000.0
    latency_senders_per_room: int = 2
    throughput_rooms: int = 50
    throughput_room_size: int = 10
    throughput_senders_per_room: int = 4
    throughput_window: int = 2
    fanout_members: int = 2000
    fanout_rate: float = 10.0  # messages/s of the first step; the search doubles it while steps pass
    fanout_max_rate: float = 100.0  # 200,000 frames/s into 2,000 members: twice the target
    fanout_senders: int = 4
    fanout_step_s: float = 4.0
    fanout_steps: int = 6  # at most; about 15 s each with connecting and draining
    fanout_max_p99_ms: float = 1000.0  # a step whose frames lag more than this did not keep up
    idle_connections: int = 10_000
    idle_sockets_per_user: int = 100
    idle_hold_s: float = 25.0  # longer than the heartbeat, so every socket pings and is pinged
    heartbeat_s: float = 20.0  # the servers' ping interval, and the clients' ping-frame interval


QUICK = Sizes(
    duration_s=2.0,
    drain_s=10.0,
    latency_rooms=10,
    latency_rate=100.0,
    throughput_rooms=10,
    throughput_senders_per_room=2,
    fanout_members=200,
    fanout_rate=5.0,
    fanout_max_rate=40.0,
    fanout_senders=2,
    fanout_step_s=2.0,
    fanout_steps=2,
    idle_connections=500,
    idle_sockets_per_user=50,
    idle_hold_s=2.0,
    heartbeat_s=2.0,
)

# Called with (scenario, seconds) when a send window opens, e.g. to start a profiler.
WindowHook = Callable[[str, float], Awaitable[None]]


async def _rooms(target: Target, count: int, size: int, name: str) -> list[tuple[int, list[User]]]:
    """count rooms of size fresh users each."""
    users = await target.users(count * size)
    groups = [users[i * size : (i + 1) * size] for i in range(count)]
    gate = asyncio.Semaphore(8)

    async def make(index: int, members: list[User]) -> tuple[int, list[User]]:
        async with gate:
            return await target.room(members, f"bench-{name}-{index}"), members

    return list(await asyncio.gather(*(make(i, g) for i, g in enumerate(groups))))


def _room_specs(
    rooms: list[tuple[int, list[User]]],
    senders: int,
    rate: float = 0.0,
    window: int = 0,
    first_key: int = 0,
    after_seq: int = 0,
) -> list[ClientSpec]:
    """One socket per member; the first `senders` members of each room send."""
    specs: list[ClientSpec] = []
    for room_id, members in rooms:
        for index, user in enumerate(members):
            sending = index < senders
            specs.append(
                ClientSpec(
                    key=first_key + len(specs),
                    token=user.token,
                    rooms=(room_id,),
                    after_seq=after_seq,
                    send_room=room_id if sending else 0,
                    rate=rate if sending else 0.0,
                    window=window if sending else 0,
                )
            )
    return specs


async def run(name: str, target: Target, pool: Pool, sizes: Sizes, hook: WindowHook | None = None) -> ScenarioResult:
    """Set up and drive one scenario against one target."""
    if name == "fanout":
        return await _fanout(target, pool, sizes, hook)
    started = time.monotonic()
    duration = sizes.duration_s
    if name == "latency":
        rooms = await _rooms(target, sizes.latency_rooms, sizes.latency_room_size, name)
        per_sender = sizes.latency_rate / (sizes.latency_rooms * sizes.latency_senders_per_room)
        specs = _room_specs(rooms, sizes.latency_senders_per_room, rate=per_sender)
        params = {
            "rooms": sizes.latency_rooms,
            "room_size": sizes.latency_room_size,
            "offered_per_s": sizes.latency_rate,
            "senders": sizes.latency_rooms * sizes.latency_senders_per_room,
        }
    elif name == "throughput":
        rooms = await _rooms(target, sizes.throughput_rooms, sizes.throughput_room_size, name)
        specs = _room_specs(rooms, sizes.throughput_senders_per_room, window=sizes.throughput_window)
        params = {
            "rooms": sizes.throughput_rooms,
            "room_size": sizes.throughput_room_size,
            "senders": sizes.throughput_rooms * sizes.throughput_senders_per_room,
            "window": sizes.throughput_window,
        }
    elif name == "idle":
        rooms = []
        users = await target.users(-(-sizes.idle_connections // sizes.idle_sockets_per_user))
        specs = [
            ClientSpec(
                key=i,
                token=users[i // sizes.idle_sockets_per_user].token,
                idle=True,
                record_latency=False,
            )
            for i in range(sizes.idle_connections)
        ]
        duration = sizes.idle_hold_s
        params = {
            "connections": sizes.idle_connections,
            "sockets_per_user": sizes.idle_sockets_per_user,
            "hold_s": sizes.idle_hold_s,
            "heartbeat_s": sizes.heartbeat_s,
        }
    else:
        raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    result = ScenarioResult(name, target.name, params)
    result.figures["setup_s"] = time.monotonic() - started
    await _drive(result, target, pool, specs, duration, sizes.drain_s, hook)
    _check_database(result, target, [room_id for room_id, _ in rooms])
    _figures(result, duration)
    result.seconds = time.monotonic() - started
    return result


async def _fanout(target: Target, pool: Pool, sizes: Sizes, hook: WindowHook | None) -> ScenarioResult:
    """Steps at the rates RateSearch picks, each on fresh sockets; the figure is the best step that kept up."""
    started = time.monotonic()
    rooms = await _rooms(target, 1, sizes.fanout_members, "fanout")
    room_id = rooms[0][0]
    search = RateSearch(sizes.fanout_rate, sizes.fanout_max_rate, sizes.fanout_steps)
    steps: list[dict[str, Any]] = []
    acks: list[tuple[int, int, str]] = []  # of every step, for the database check
    best: ScenarioResult | None = None
    step = None
    while (rate := search.next_rate()) is not None:
        # New client_msg_ids (keys) per step, and cursors at the room's end: no replay of earlier steps.
        after = max((seq for _, seq, _ in target.stored([room_id]) or acks), default=0)
        specs = _room_specs(
            rooms,
            sizes.fanout_senders,
            rate / sizes.fanout_senders,
            first_key=len(steps) * len(rooms[0][1]),
            after_seq=after,
        )
        step = ScenarioResult("fanout", target.name, {"offered_per_s": rate})
        await _drive(step, target, pool, specs, sizes.fanout_step_s, min(sizes.drain_s, 10.0), hook)
        _figures(step, sizes.fanout_step_s)
        reason = shortfall(step, sizes.fanout_max_p99_ms)
        search.record(rate, reason is None)
        outcome = f"short: {reason}" if reason else "sustained"
        frames = step.figures["frames_per_s"]
        sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {target.name}: fanout at {rate:g} msg/s: ")
        sys.stderr.write(f"{frames:.0f} frames/s, {outcome}\n")
        acks += step.acks
        steps.append(
            {
                "offered_per_s": rate,
                "frames_per_s": round(step.figures["frames_per_s"]),
                "latency_p99_ms": round(step.figures.get("latency_p99_ms", 0.0), 1),
                "sustained": reason is None,
                "shortfall": reason or "",
            }
        )
        if reason is None and (best is None or rate > best.params["offered_per_s"]):
            best = step
    result = best or step
    assert result is not None  # RateSearch always offers a first step
    result.params = {
        "members": sizes.fanout_members,
        "senders": sizes.fanout_senders,
        "sustained_per_s": result.params["offered_per_s"] if best else 0.0,
        "step_s": sizes.fanout_step_s,
        "max_p99_ms": sizes.fanout_max_p99_ms,
        "steps": steps,
    }
    result.figures["sustained_per_s"] = result.params["sustained_per_s"]
    step_acks, result.acks = result.acks, acks
    _check_database(result, target, [room_id])  # every acked message of every step stored once
    result.acks = step_acks
    result.seconds = time.monotonic() - started
    return result


async def _drive(
    result: ScenarioResult,
    target: Target,
    pool: Pool,
    specs: list[ClientSpec],
    duration_s: float,
    drain_s: float,
    hook: WindowHook | None,
) -> None:
    """Connect every socket, send for duration_s, then drain and account."""
    workers = len(pool.pipes)
    shares = [specs[i::workers] for i in range(workers)]
    gateway = target.gateway_pid
    rss_before = rss_kib(gateway) if gateway else 0
    plans = [Plan(result.scenario, target.ws_url, share, bucket_ms=result.bucket_ms) for share in shares]
    connected = await pool.ask(plans, Connected)
    a = result.accounting
    a.sockets = sum(c.connected for c in connected)
    a.connect_failures = sum(c.failed for c in connected)
    a.error_samples.extend(e for c in connected for e in c.errors)
    result.figures["connect_s"] = max(c.seconds for c in connected)  # includes settling
    result.figures["connect_reconnects"] = float(sum(c.reconnects for c in connected))
    rss_connected = rss_kib(gateway) if gateway else 0

    processes = {**target.pids, **{f"loadgen-{i}": pid for i, pid in enumerate(pool.pids)}}
    cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
    machine_before = machine_busy_seconds()
    # The services' own counters, from here until every message is delivered (after the drain).
    scraped_before = await asyncio.to_thread(metrics.read, target.metrics_urls)
    db_before = await asyncio.to_thread(dbstatus.read, target.database_url) if target.database_url else {}
    start = time.monotonic_ns() + 200_000_000  # time for every worker to get the message
    if hook is not None:
        await hook(result.scenario, duration_s)
    sent = await pool.ask([Go(start, start + int(duration_s * 1e9))] * workers, Sent)
    window = (time.monotonic_ns() - start) / 1e9
    result.cpu_percent = {name: 100 * (cpu_seconds(pid) - cpu_before[name]) / window for name, pid in processes.items()}
    # What else ran meanwhile (another test suite on the machine): the busy CPU no process of the run used.
    machine = 100 * (machine_busy_seconds() - machine_before) / window
    result.figures["other_cpu_percent"] = max(0.0, machine - sum(result.cpu_percent.values()))
    rss_held = rss_kib(gateway) if gateway else 0

    result.acks = [ack for s in sent for ack in s.acks]
    a.unacked = sum(s.unacked for s in sent)
    expected: dict[int, set[int]] = {}
    for room, seq, _ in result.acks:
        expected.setdefault(room, set()).add(seq)
    outcomes = await pool.ask([Drain(expected, drain_s)] * workers, Outcome)
    result.merge(outcomes)
    if "mariadb" in processes and result.acks:  # from the window's start until every message was delivered
        mariadb_s = cpu_seconds(processes["mariadb"]) - cpu_before["mariadb"]
        result.figures["mariadb_cpu_s"] = mariadb_s
        result.figures["mariadb_cpu_s_per_1k_msgs"] = mariadb_s * 1000 / len(result.acks)
    if db_before:
        db_after = await asyncio.to_thread(dbstatus.read, target.database_url)
        result.figures.update(dbstatus.figures(db_before, db_after, len(result.acks)))
    if target.metrics_urls:
        scraped_after = await asyncio.to_thread(metrics.read, target.metrics_urls)
        result.figures.update(metrics.figures(scraped_before, scraped_after, sum(result.delivered)))
    result.figures["drain_s"] = max(o.drain_seconds for o in outcomes)
    result.figures["pings"] = float(sum(o.pings for o in outcomes))
    result.figures["pongs"] = float(sum(o.pongs for o in outcomes))
    if gateway:
        result.figures.update(
            {"rss_before_kib": rss_before, "rss_connected_kib": rss_connected, "rss_held_kib": rss_held}
        )


def _check_database(result: ScenarioResult, target: Target, rooms: list[int]) -> None:
    """Every acked message is stored exactly once with its seq; nothing stored is unaccounted for."""
    stored = target.stored(rooms) if rooms else None
    if stored is None:
        return
    acked: set[tuple[int, int, str]] = set(result.acks)
    a = result.accounting
    a.db_checked = True
    a.lost += len(acked - stored)
    a.stored_unacked = len(stored - acked)
    by_id: dict[tuple[int, str], int] = {}
    for room, _, client_msg_id in stored:
        by_id[(room, client_msg_id)] = by_id.get((room, client_msg_id), 0) + 1
    a.duplicates += sum(n - 1 for n in by_id.values())


def _figures(result: ScenarioResult, duration_s: float) -> None:
    """The headline figures of each scenario."""
    f, a = result.figures, result.accounting
    acked = len(result.acks)
    delivered = sum(result.delivered)
    f["messages_acked"] = float(acked)
    f["frames_delivered"] = float(delivered)
    f["acked_per_s"] = acked / duration_s
    f["frames_per_s"] = _sustained(result.delivered, result.bucket_ms)
    if result.scenario == "idle":
        held = a.sockets - a.connect_failures
        f["connections_held"] = float(held)
        if "rss_held_kib" in f and held:
            f["kib_per_connection"] = (max(f["rss_held_kib"], f["rss_connected_kib"]) - f["rss_before_kib"]) / held


def _sustained(timeline: list[int], bucket_ms: int) -> float:
    """Events per second from the first to the last non-empty bucket."""
    busy = [i for i, n in enumerate(timeline) if n]
    if not busy:
        return 0.0
    return sum(timeline) / ((busy[-1] - busy[0] + 1) * bucket_ms / 1000)


def with_overrides(sizes: Sizes, changes: dict[str, Any]) -> Sizes:
    """sizes with the options the user set on the command line (None: not set)."""
    return replace(sizes, **{k: v for k, v in changes.items() if v is not None})
