"""One benchmark WebSocket client: signs in, sends on a schedule, and accounts for every frame.

Send times are time.monotonic_ns() values (CLOCK_MONOTONIC is system-wide on Linux, so a recipient in
another process can subtract them) carried in the message body: "<scheduled ns> <client_msg_id>".
The scheduled time, not the moment the frame left, starts the clock, so a sender that falls behind
shows up as latency instead of silently offering less load (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from array import array
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench.plans import ClientSpec


@dataclass
class Tally:
    """What all clients of one worker process saw; timelines count per bucket from the start time."""

    bucket_ns: int
    start_ns: int = 0
    latencies_us: array[int] = field(default_factory=lambda: array("q"))  # other members' message frames
    ack_us: array[int] = field(default_factory=lambda: array("q"))  # send -> ack of the sender's own frames
    delivered: list[int] = field(default_factory=list)  # message frames received per bucket
    acked: list[int] = field(default_factory=list)  # acks received per bucket
    acks: list[tuple[int, int, str]] = field(default_factory=list)  # (room, seq, client_msg_id)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    reconnects: int = 0
    duplicate_acks: int = 0
    pings: int = 0
    pongs: int = 0
    last_frame_ns: int = 0  # when any frame last arrived, to see the connect storm settle

    def error(self, what: str) -> None:
        """Count an error, keeping the first few descriptions."""
        self.errors += 1
        if len(self.error_samples) < 20:
            self.error_samples.append(what)

    def bump(self, timeline: list[int], now_ns: int) -> None:
        """Count one event in its time bucket."""
        index = max(0, (now_ns - self.start_ns) // self.bucket_ns) if self.start_ns else 0
        if index >= len(timeline):
            timeline.extend([0] * (index + 1 - len(timeline)))
        timeline[index] += 1


class Client:
    """A socket that resumes after a drop, like a well-behaved browser tab."""

    def __init__(self, spec: ClientSpec, url: str, tally: Tally) -> None:
        self.spec = spec
        self.url = url
        self.tally = tally
        self.prefix = f"c{spec.key}-"
        self.seen: dict[int, set[int]] = {room: set() for room in spec.rooms}
        self.last_seq: dict[int, int] = dict.fromkeys(spec.rooms, 0)
        self.pending: dict[str, tuple[int, str, str, int]] = {}  # ref -> (room, client_msg_id, body, sent ns)
        self.window = asyncio.Semaphore(max(1, spec.window))
        self.ws: ClientConnection | None = None
        self.heartbeat_s = 20.0
        self.closing = False
        self.duplicates = 0
        self.pongs = 0
        self._reader: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._counter = 0

    # -- connection ---------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the socket, sign in with cursors for every room, and wait for caught_up."""
        ws = await connect(
            self.url, compression=None, ping_interval=None, open_timeout=60, close_timeout=2, max_queue=None
        )
        cursors = [{"room_id": room, "after_seq": seq} for room, seq in self.last_seq.items()]
        await ws.send(orjson.dumps({"type": "auth", "token": self.spec.token, "cursors": cursors}).decode())
        async with asyncio.timeout(60):
            while True:
                frame = orjson.loads(await ws.recv())
                kind = frame.get("type")
                if kind == "ready":
                    self.heartbeat_s = float(frame.get("heartbeat_seconds", 20.0))
                elif kind == "caught_up":
                    break
                elif kind == "message":
                    self._on_message(frame, time.monotonic_ns())
                elif kind == "error":
                    self.tally.error(f"while signing in: {frame.get('code')}: {frame.get('message')}")
        self.ws = ws
        self._reader = asyncio.create_task(self._read_loop())
        if self._heartbeat is None:  # from the start: a long connect phase must not idle sockets out
            self._heartbeat = asyncio.create_task(self._heartbeats())

    async def _reconnect(self) -> None:
        """Resume after an unexpected close: cursors at the last seq, then resend unacked frames."""
        self.tally.reconnects += 1
        for attempt in range(10):
            await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
            try:
                await self.connect()
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake) as exc:
                self.tally.error(f"reconnect failed: {exc!r}")
                continue
            for ref, (room, client_msg_id, body, _) in list(self.pending.items()):
                await self._send_frame(ref, room, client_msg_id, body)
            return
        self.tally.error("gave up reconnecting")

    async def _read_loop(self) -> None:
        ws = self.ws
        assert ws is not None
        try:
            async for raw in ws:
                self._on_frame(orjson.loads(raw))
        except ConnectionClosed:
            pass
        if not self.closing:
            code = ws.close_code
            self.tally.error(f"socket closed by the server: {code} {ws.close_reason}")
            await self._reconnect()

    async def close(self) -> None:
        """Close the socket normally."""
        self.closing = True
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    # -- frames in ----------------------------------------------------------------------------------

    def _on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        now = time.monotonic_ns()
        if kind != "pong":  # our own heartbeats must not look like the connect storm going on
            self.tally.last_frame_ns = now
        if kind == "message":
            self._on_message(frame, now)
        elif kind == "send_ack":
            self._on_ack(frame, now)
        elif kind == "pong":
            self.pongs += 1
            self.tally.pongs += 1
        elif kind == "error":
            ref = frame.get("ref")
            if ref in self.pending:
                self.pending.pop(ref)
                self.window.release()
            self.tally.error(f"{frame.get('code')}: {frame.get('message')}")
        elif kind == "caught_up":
            pass  # after a server-side resync; replayed messages were accounted as they came

    def _on_message(self, frame: dict[str, Any], now: int) -> None:
        message = frame["message"]
        room, seq = frame["room_id"], message["seq"]
        seen = self.seen.get(room)
        if seen is None:
            return  # a room this client is not measuring
        if seq in seen:
            self.duplicates += 1
            return
        seen.add(seq)
        if seq > self.last_seq[room]:
            self.last_seq[room] = seq
        self.tally.bump(self.tally.delivered, now)
        if self.spec.record_latency and not message["client_msg_id"].startswith(self.prefix):
            body: str = message["body"]
            self.tally.latencies_us.append((now - int(body[: body.index(" ")])) // 1000)

    def _on_ack(self, frame: dict[str, Any], now: int) -> None:
        entry = self.pending.pop(frame.get("ref", ""), None)
        if entry is None:
            return  # a repeated ack after a resend
        room, client_msg_id, _, sent_ns = entry
        message = frame["message"]
        self.tally.acks.append((room, int(message["seq"]), client_msg_id))
        if frame.get("duplicate"):
            self.tally.duplicate_acks += 1
        self.tally.ack_us.append((now - sent_ns) // 1000)
        self.tally.bump(self.tally.acked, now)
        self.window.release()

    # -- frames out ---------------------------------------------------------------------------------

    async def _send_frame(self, ref: str, room: int, client_msg_id: str, body: str) -> None:
        if self.ws is None:
            return
        frame = {"type": "send", "ref": ref, "room_id": room, "client_msg_id": client_msg_id, "body": body}
        with contextlib.suppress(ConnectionClosed):  # the reader reconnects and resends what is pending
            await self.ws.send(orjson.dumps(frame).decode())

    async def _send(self, scheduled_ns: int) -> None:
        self._counter += 1
        client_msg_id = f"{self.prefix}{self._counter}"
        body = f"{scheduled_ns} {client_msg_id}"
        ref = str(self._counter)
        self.pending[ref] = (self.spec.send_room, client_msg_id, body, scheduled_ns)
        await self._send_frame(ref, self.spec.send_room, client_msg_id, body)

    async def run(self, start_ns: int, end_ns: int) -> None:
        """Send until end_ns as the spec says (open loop at a rate, or closed loop with a window)."""
        spec = self.spec
        if spec.idle:
            await asyncio.sleep(max(0.0, (end_ns - time.monotonic_ns()) / 1e9))  # heartbeats only
        elif spec.send_room and spec.rate > 0:
            interval = int(1e9 / spec.rate)
            due = start_ns + int(random.random() * interval)  # spread senders over the interval
            while due < end_ns:
                delay = due - time.monotonic_ns()
                if delay > 0:
                    await asyncio.sleep(delay / 1e9)
                await self._send(due)
                due += interval
        elif spec.send_room:
            await asyncio.sleep(max(0.0, (start_ns - time.monotonic_ns()) / 1e9))
            while time.monotonic_ns() < end_ns:
                await self.window.acquire()
                await self._send(time.monotonic_ns())

    async def _heartbeats(self) -> None:
        """Ping at the heartbeat interval (random phase) while open, as docs/protocol.md asks."""
        interval = self.spec.ping_interval_s or self.heartbeat_s
        await asyncio.sleep(random.random() * interval)
        while not self.closing:
            await self.ping()
            await asyncio.sleep(interval)

    async def ping(self) -> None:
        """Send a ping frame; its pong is counted."""
        if self.ws is not None:
            self.tally.pings += 1
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send('{"type":"ping","ref":"p"}')
