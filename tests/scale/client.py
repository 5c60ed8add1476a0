"""A chat client that behaves as docs/protocol.md asks, and keeps a raw transcript of what it got.

It resumes by cursors after any disconnect, moving to the next gateway in its list, and resends its
unacked sends with the same client_msg_id. The transcript keeps every message frame as it arrived,
before any de-duplication, so that a test can count duplicates and losses honestly.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException


@dataclass
class ChatClient:
    """One user's socket, with failover over several gateway URLs."""

    name: str
    user_id: int
    token: str
    urls: list[str]
    at: int = 0  # index of the gateway in use
    received: list[tuple[int, int]] = field(default_factory=list)  # (room, seq) of every message frame
    presence: list[tuple[int, int, bool]] = field(default_factory=list)  # (room, user, online)
    last_seq: dict[int, int] = field(default_factory=dict)
    pending: dict[str, tuple[int, str]] = field(default_factory=dict)  # client_msg_id -> (room, body)
    acked: dict[str, int] = field(default_factory=dict)  # client_msg_id -> seq
    sent_at: dict[str, float] = field(default_factory=dict)  # client_msg_id -> first send (monotonic)
    ack_ms: list[tuple[float, float]] = field(default_factory=list)  # (when acked, ms since first send)
    sent: int = 0
    reconnects: int = 0
    send_errors: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    _ws: ClientConnection | None = None
    _task: asyncio.Task[None] | None = None
    _ref: int = 0

    # -- connection --------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect and keep connected until stop()."""
        self._task = asyncio.create_task(self._run(), name=f"client-{self.name}")

    async def stop(self) -> None:
        """Disconnect for good."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        first = True
        while True:
            url = self.urls[self.at % len(self.urls)]
            try:
                async with connect(url, open_timeout=5, max_size=2**22) as ws:
                    cursors = [{"room_id": r, "after_seq": s} for r, s in sorted(self.last_seq.items())]
                    await ws.send(orjson.dumps({"type": "auth", "token": self.token, "cursors": cursors}).decode())
                    async for data in ws:
                        await self._on_frame(ws, orjson.loads(data))
            except asyncio.CancelledError:
                raise
            except (OSError, WebSocketException, TimeoutError):
                pass
            self._ws = None
            self.ready.clear()
            if not first or self.last_seq:
                self.reconnects += 1
            first = False
            self.at += 1  # the next gateway
            await asyncio.sleep(0.1)

    async def _on_frame(self, ws: ClientConnection, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "ready":
            for entry in frame["rooms"]:
                room = entry["room"]
                self.last_seq.setdefault(int(room["id"]), int(room["last_seq"]))
        elif kind == "caught_up":
            self._ws = ws
            self.ready.set()
            for key, (room, body) in list(self.pending.items()):  # resend what was never acked
                await self._send_frame(key, room, body)
        elif kind == "message":
            room, seq = int(frame["room_id"]), int(frame["message"]["seq"])
            self.received.append((room, seq))
            self.last_seq[room] = max(seq, self.last_seq.get(room, 0))
        elif kind == "presence":
            self.presence.append((int(frame["room_id"]), int(frame["user_id"]), bool(frame["online"])))
        elif kind == "send_ack":
            self._acked(frame["message"])
        elif kind == "error" and frame.get("ref", "").startswith("s:"):
            self.send_errors += 1  # e.g. a backend died mid-call: send again shortly
            key = frame["ref"][2:]
            if key in self.pending:
                asyncio.get_running_loop().call_later(0.2, lambda: asyncio.ensure_future(self._retry(key)))

    def _acked(self, message: dict[str, Any]) -> None:
        key = message["client_msg_id"]
        self.pending.pop(key, None)
        if key not in self.acked and key in self.sent_at:
            now = time.monotonic()
            self.ack_ms.append((now, (now - self.sent_at[key]) * 1000))
        self.acked[key] = int(message["seq"])

    async def _retry(self, key: str) -> None:
        if key in self.pending and self._ws is not None:
            room, body = self.pending[key]
            await self._send_frame(key, room, body)

    async def _send_frame(self, key: str, room: int, body: str) -> None:
        ws = self._ws
        if ws is None:
            return  # resent after the next caught_up
        frame = {"type": "send", "ref": f"s:{key}", "room_id": room, "client_msg_id": key, "body": body}
        with contextlib.suppress(OSError, WebSocketException):
            await ws.send(orjson.dumps(frame).decode())

    # -- sending -----------------------------------------------------------------------------------

    async def send(self, room: int, body: str) -> str:
        """Post a message; it is resent until acked."""
        self.sent += 1
        key = f"{self.name}-{self.sent}"
        self.pending[key] = (room, body)
        self.sent_at[key] = time.monotonic()
        await self._send_frame(key, room, body)
        return key

    # -- the transcript ----------------------------------------------------------------------------

    def seqs(self, room: int) -> list[int]:
        """Seqs of the room's message frames, in arrival order, repeats included."""
        return [seq for r, seq in self.received if r == room]

    def report(self, room: int, stored: list[int], since: int = 0) -> dict[str, int]:
        """Received / duplicated / lost / out of order against what the database stored after `since`."""
        got = [s for s in self.seqs(room) if s > since]
        counts = Counter(got)
        want = [s for s in stored if s > since]
        return {
            "deliveries_expected": len(want),
            "received": len(got),
            "duplicated": sum(n - 1 for n in counts.values()),
            "lost": len(set(want) - set(got)),
            "out_of_order": sum(1 for a, b in itertools.pairwise(got) if b <= a),
            "reconnects": self.reconnects,
        }
