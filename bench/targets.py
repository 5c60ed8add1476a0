"""What the bench drives, and how it gets users and rooms there.

- ParleyStack: the stack bench.stack started. Users register through the public REST API like any
  other, on a stack whose argon2 cost is turned down (bench.stack: registration is not what is
  measured, and at the default cost 2,000 registrations would take minutes of CPU). Rooms and
  memberships go through the REST API too.
- ParleyRemote (--target-url): a gateway someone else runs; users register through the REST API.
- Baseline: the bare broadcast server; a token is the user id, and rooms are what the auth frame's
  cursors name (it keeps no membership of its own).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import create_engine, select

from bench.stack import Stack

PASSWORD = "bench password 0123"


@dataclass(frozen=True)
class User:
    """A user the bench signs in as."""

    id: int
    token: str


@dataclass
class Target:
    """A server to drive: where its WebSocket is and which processes serve it."""

    name: str
    url: str  # http://host:port
    pids: dict[str, int] = field(default_factory=dict)  # service -> pid, for CPU and memory figures
    gateway_pid: int | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    metrics_urls: dict[str, str] = field(default_factory=dict)  # service -> its /metrics (bench/metrics.py)
    database_url: str = ""  # chat_db, for MariaDB's own counters (bench/dbstatus.py); "" when unknown

    @property
    def ws_url(self) -> str:
        """The WebSocket endpoint."""
        return self.url.replace("http", "ws", 1) + "/api/v1/ws"

    async def users(self, count: int) -> list[User]:
        """count new users, signed in."""
        raise NotImplementedError

    async def room(self, members: list[User], name: str) -> int:
        """A new room whose members are exactly these users; its id."""
        raise NotImplementedError

    def stored(self, rooms: list[int]) -> set[tuple[int, int, str]] | None:
        """(room, seq, client_msg_id) of every stored message in these rooms; None when unknowable."""
        return None

    async def close(self) -> None:
        """Release clients."""


class _RestTarget(Target):
    """Rooms through the REST API, as a browser would make them."""

    _http: httpx.AsyncClient | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            limits = httpx.Limits(max_connections=32)
            self._http = httpx.AsyncClient(base_url=f"{self.url}/api/v1", timeout=60, limits=limits)
        return self._http

    async def _post(self, path: str, token: str | None, body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(path, json=body, headers=headers)
        if response.status_code >= 300:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    async def room(self, members: list[User], name: str) -> int:
        owner, others = members[0], [m.id for m in members[1:]]
        if len(others) <= 100:  # chat_svc invites at most 100 users when creating a room
            room = await self._post("/rooms", owner.token, {"kind": "private", "name": name, "member_ids": others})
            gate = asyncio.Semaphore(16)

            async def accept(member: User) -> None:  # each invitee says yes, as a real one would
                async with gate:
                    await self._post(f"/invitations/{room['id']}/accept", member.token)

            await asyncio.gather(*(accept(m) for m in members[1:]))
            return int(room["id"])
        room = await self._post("/rooms", owner.token, {"kind": "public", "name": name})
        room_id = int(room["id"])
        gate = asyncio.Semaphore(16)

        async def join(member: User) -> None:
            async with gate:
                await self._post(f"/rooms/{room_id}/join", member.token)

        await asyncio.gather(*(join(m) for m in members[1:]))
        return room_id

    async def register(self, count: int, concurrency: int = 4) -> list[User]:
        """Sign up count users through POST /auth/register."""
        gate = asyncio.Semaphore(concurrency)
        tag = uuid.uuid4().hex[:8]

        async def one(index: int) -> User:
            async with gate:
                body = await self._post("/auth/register", None, {"username": f"b{tag}_{index}", "password": PASSWORD})
            return User(int(body["user"]["id"]), body["session"]["access_token"])

        return list(await asyncio.gather(*(one(i) for i in range(count))))

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()


class ParleyRemote(_RestTarget):
    """A gateway started by someone else."""

    async def users(self, count: int) -> list[User]:
        return await self.register(count)


class ParleyStack(_RestTarget):
    """The stack this run started: users registered over REST, messages checked against chat_db."""

    def __init__(self, stack: Stack, name: str = "parley", database_pid: int | None = None) -> None:
        pids = stack.pids | ({"mariadb": database_pid} if database_pid else {})
        super().__init__(name, stack.gateway_url, pids, stack.gateway.process.pid)
        self.stack = stack
        self.database_url = stack.chat_db_url
        self.metrics_urls = {
            name: processes[0].metrics_url
            for name, processes in stack.processes.items()
            if processes and processes[0].metrics_port is not None
        }

    async def users(self, count: int) -> list[User]:
        started = time.perf_counter()
        users = await self.register(count, concurrency=16)
        if count and "register_ms_per_user" not in self.notes:  # at the bench's argon2 cost (bench.stack)
            self.notes["register_ms_per_user"] = round((time.perf_counter() - started) * 1000 / count, 2)
        return users

    def stored(self, rooms: list[int]) -> set[tuple[int, int, str]] | None:
        from chat_svc.models import Message

        if not rooms:
            return set()
        engine = create_engine(self.stack.chat_db_url)
        try:
            with engine.connect() as conn:
                query = select(Message.room_id, Message.seq, Message.client_msg_id).where(Message.room_id.in_(rooms))
                return {(int(r), int(s), str(c)) for r, s, c in conn.execute(query)}
        finally:
            engine.dispose()


class Baseline(Target):
    """The bare FastAPI broadcast server: any token is a user id; rooms come from the auth cursors."""

    def __init__(self, url: str, pid: int) -> None:
        super().__init__("baseline", url, {"baseline": pid}, pid)
        self._ids = itertools.count(1)

    async def users(self, count: int) -> list[User]:
        return [User(uid, str(uid)) for uid in itertools.islice(self._ids, count)]

    async def room(self, members: list[User], name: str) -> int:
        return next(self._ids)
