"""Load-generator processes: each runs many asyncio clients, steered step by step over a pipe.

A scenario is four steps, the same for every worker: Plan (connect all sockets) -> Connected,
Go (send until a shared deadline) -> Sent (the acks), Drain (every acked seq of the run) -> Outcome.
The orchestrator merges the acks between the last two steps, so each worker can tell lost messages
from ones still in flight without knowing about the other processes' senders.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from bench.client import Client, Tally
from bench.plans import Connected, Drain, Go, Outcome, Plan, Sent
from bench.procstat import raise_nofile

T = TypeVar("T")


class _Run:
    """One scenario inside one worker process."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.tally = Tally(bucket_ns=plan.bucket_ms * 1_000_000)
        self.clients = [Client(spec, plan.url, self.tally) for spec in plan.clients]

    async def connect(self) -> Connected:
        started = time.monotonic()
        gate = asyncio.Semaphore(self.plan.connect_concurrency)
        errors: list[str] = []

        async def one(client: Client) -> bool:
            async with gate:
                try:
                    await client.connect()
                except Exception as exc:  # noqa: BLE001 - any failure to connect is counted, not raised
                    if len(errors) < 10:
                        errors.append(repr(exc))
                    return False
                return True

        done = await asyncio.gather(*(one(c) for c in self.clients))
        # Connecting makes frames of its own (presence to every online member of a room): measure
        # from when they stop, at most settle_s later, so that the window sees the steady state.
        settle_by = time.monotonic() + self.plan.settle_s
        quiet_ns = 300_000_000
        while time.monotonic() < settle_by and time.monotonic_ns() - self.tally.last_frame_ns < quiet_ns:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        self.clients = [c for c, ok in zip(self.clients, done, strict=True) if ok]
        failed = len(done) - len(self.clients)
        self.tally.error_samples.extend(errors)  # counted as connect failures, not errors
        return Connected(len(self.clients), failed, time.monotonic() - started, errors, self.tally.reconnects)

    async def go(self, go: Go) -> Sent:
        self.tally.start_ns = go.start_ns
        await asyncio.gather(*(c.run(go.start_ns, go.end_ns) for c in self.clients))
        deadline = time.monotonic() + go.ack_timeout_s
        while any(c.pending for c in self.clients) and time.monotonic() < deadline:  # noqa: ASYNC110 - polls counters
            await asyncio.sleep(0.02)
        unacked = sum(len(c.pending) for c in self.clients)
        if unacked:  # counted as unacked, not errors
            self.tally.error_samples.append(f"{unacked} sends never acknowledged")
        return Sent(self.tally.acks, unacked)

    async def drain(self, drain: Drain) -> Outcome:
        started = time.monotonic()
        deadline = started + drain.timeout_s

        def behind(client: Client) -> bool:
            return any(len(client.seen[r]) < len(drain.expected.get(r, ())) for r in client.spec.rooms)

        waiting = [c for c in self.clients if behind(c)]
        while waiting and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            waiting = [c for c in waiting if behind(c)]
        drained = time.monotonic() - started
        idle = [c for c in self.clients if c.spec.idle]
        if idle:  # one last ping each proves the idle sockets are still alive
            before = {id(c): c.pongs for c in idle}
            await asyncio.gather(*(c.ping() for c in idle))
            silent = idle
            while silent and time.monotonic() < deadline + 10:
                await asyncio.sleep(0.05)
                silent = [c for c in silent if c.pongs == before[id(c)]]
            if silent:
                self.tally.error(f"{len(silent)} idle sockets did not answer the last ping")
                self.tally.errors += len(silent) - 1
        lost = unexpected = 0
        for client in self.clients:
            for room in client.spec.rooms:
                expected, seen = drain.expected.get(room, set()), client.seen[room]
                lost += len(expected - seen)
                unexpected += len(seen - expected)
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)
        t = self.tally
        return Outcome(
            latencies_us=t.latencies_us.tobytes(),
            ack_us=t.ack_us.tobytes(),
            delivered=t.delivered,
            acked=t.acked,
            lost=lost,
            duplicates=sum(c.duplicates for c in self.clients),
            unexpected=unexpected,
            errors=t.errors,
            error_samples=t.error_samples,
            reconnects=t.reconnects,
            duplicate_acks=t.duplicate_acks,
            pings=t.pings,
            pongs=t.pongs,
            drain_seconds=drained,
        )


async def _serve(conn: Connection) -> None:
    loop = asyncio.get_running_loop()

    async def receive() -> Any:
        return await loop.run_in_executor(None, conn.recv)

    while (plan := await receive()) is not None:
        run = _Run(plan)
        conn.send(await run.connect())
        conn.send(await run.go(await receive()))
        conn.send(await run.drain(await receive()))


def worker_main(conn: Connection) -> None:
    """Entry point of a worker process: serve plans until told to stop (None)."""
    import uvloop

    raise_nofile()
    uvloop.run(_serve(conn))


class Pool:
    """A fixed set of worker processes, reused for every scenario and target."""

    def __init__(self, size: int) -> None:
        context = multiprocessing.get_context("spawn")  # no forked copies of the orchestrator's threads
        self.pipes: list[Connection] = []
        self.processes: list[BaseProcess] = []
        for index in range(size):
            mine, theirs = context.Pipe()
            process = context.Process(target=worker_main, args=(theirs,), name=f"bench-worker-{index}", daemon=True)
            process.start()
            theirs.close()
            self.pipes.append(mine)
            self.processes.append(process)

    @property
    def pids(self) -> list[int]:
        """The workers' process ids."""
        return [p.pid for p in self.processes if p.pid is not None]

    async def ask(self, messages: list[Any], kind: type[T]) -> list[T]:
        """Send one message to each worker and wait for each answer."""
        loop = asyncio.get_running_loop()
        for pipe, message in zip(self.pipes, messages, strict=True):
            pipe.send(message)
        answers = await asyncio.gather(*(loop.run_in_executor(None, pipe.recv) for pipe in self.pipes))
        for answer in answers:
            if not isinstance(answer, kind):
                raise TypeError(f"a worker answered {answer!r}, expected {kind.__name__}")
        return list(answers)

    def close(self) -> None:
        """Tell the workers to stop and wait for them."""
        for pipe in self.pipes:
            with contextlib.suppress(OSError):  # already gone
                pipe.send(None)
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()
