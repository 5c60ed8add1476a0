"""scripts/supervise.py, the supervisor of `scripts/run`: a dead component is started again, a crash loop stops all.

Real processes: the supervisor starts auth_svc, chat_svc replicas, gateways and the dev balancer on
fresh MySQL databases and a redis-server of the test's own; the tests SIGKILL components by the pids
the supervisor prints.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.scale.client import ChatClient
from tests.support import mysql, redis as redis_support
from tests.support.processes import ROOT
from tests.support.redis import RedisServer

pytestmark = [pytest.mark.mysql, pytest.mark.timeout(240)]

SECRET = "gw-supervisor-test-secret-0123456789"


def free_block(offsets: list[int]) -> int:
    """A base port such that base + each offset is free on 127.0.0.1, below the kernel's ephemeral range.

    Inside that range an outgoing connection (to MySQL, Redis) may take a planned port before its
    component binds it.
    """
    ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    span = ephemeral_low - 20000 - max(offsets)
    for _ in range(200):
        base = 20000 + (uuid.uuid4().int % span)
        sockets = []
        try:
            for offset in offsets:
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free block of ports")


class Supervised:
    """scripts/supervise.py as a child process, with every line it printed."""

    def __init__(self, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        command = [sys.executable, str(ROOT / "scripts" / "supervise.py"), "--no-webapp", "--log-dir", str(log_dir)]
        self.process = subprocess.Popen(
            [*command, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    async def line(self, pattern: str, within: float, after: int = 0) -> re.Match[str]:
        """The first printed line from index `after` on that matches the regex."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for text in self.lines[after:]:
                if found := re.search(pattern, text):
                    return found
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            await asyncio.sleep(0.05)
        tail = "\n".join(self.lines[-60:])
        raise AssertionError(f"no line matching {pattern!r} within {within} s; the supervisor printed:\n{tail}")

    async def pid(self, name: str, after: int = 0) -> int:
        """The pid of the latest start of component `name` from line `after` on."""
        found = await self.line(rf"^==> started {re.escape(name)} \(pid (\d+)\)", 60, after)
        return int(found.group(1))

    def stop(self) -> int:
        """Ctrl-C, and the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


@pytest.fixture
def environment(tmp_path: Path) -> Iterator[dict[str, str]]:
    """What scripts/run exports: ports, fresh migrated MySQL databases, a broker, the gateway's secret."""
    redis_support.require()
    broker = RedisServer().start()
    base = free_block([0, 1, 2, 3, 10, 11, 13, 20, 21, 23, 30, 31, 32, 33, 43, 53])
    tag = uuid.uuid4().hex[:6]
    env = {
        **os.environ,
        "AUTH_HOST": "127.0.0.1",
        "AUTH_PORT": str(base),
        "AUTH_METRICS_PORT": str(base + 2),
        "AUTH_DATABASE_URL": mysql.fresh_database(f"parley_test_sv_auth_{tag}"),
        "AUTH_KEYS_DIR": str(tmp_path / "keys"),
        "AUTH_SERVICE_CLIENTS": orjson.dumps({"edge_gateway": SECRET}).decode(),
        "CHAT_HOST": "127.0.0.1",
        "CHAT_PORT": str(base + 1),
        "CHAT_METRICS_PORT": str(base + 3),
        "CHAT_AUTH_ADDRESS": f"127.0.0.1:{base}",
        "CHAT_DATABASE_URL": mysql.fresh_database(f"parley_test_sv_chat_{tag}"),
        "CHAT_SHUTDOWN_GRACE_SECONDS": "3",
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(base + 30),
        "GATEWAY_METRICS_PORT": str(base + 33),
        "GATEWAY_AUTH_ADDRESS": f"127.0.0.1:{base}",
        "GATEWAY_CLIENT_SECRET": SECRET,
        "GATEWAY_SHUTDOWN_GRACE_SECONDS": "2",
        "GATEWAY_PRESENCE_TTL_SECONDS": "3",
        "PARLEY_BROKER_URL": broker.url,
        "CHAT_BROKER_URL": broker.url,
        "GATEWAY_BROKER_URL": broker.url,
    }
    for module in ("auth_svc", "chat_svc"):
        subprocess.run([sys.executable, "-m", module, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    try:
        yield env
    finally:
        broker.stop()


async def user_and_room(api: str, count: int) -> tuple[list[tuple[int, str]], int]:
    """`count` fresh users (id, token) and a room of theirs, made through the balancer."""
    users = []
    async with httpx.AsyncClient(base_url=api, timeout=20) as http:
        for _ in range(count):
            name = f"sv_{uuid.uuid4().hex[:8]}"
            reply = await http.post("/auth/register", json={"username": name, "password": "correct horse battery"})
            assert reply.status_code == 201, reply.text
            body = reply.json()
            users.append((int(body["user"]["id"]), str(body["session"]["access_token"])))
        reply = await http.post(
            "/rooms",
            json={"kind": "private", "name": "supervised", "member_ids": [uid for uid, _ in users[1:]]},
            headers={"Authorization": f"Bearer {users[0][1]}"},
        )
        assert reply.status_code == 201, reply.text
        room_id = int(reply.json()["id"])
        for _, token in users[1:]:
            accepted = await http.post(f"/invitations/{room_id}/accept", headers={"Authorization": f"Bearer {token}"})
            assert accepted.status_code == 200, accepted.text
        return users, room_id


async def kill_and_see_it_return(run: Supervised, name: str, sender: ChatClient) -> None:
    """SIGKILL component `name`; the supervisor says so and starts it again; chatting goes on meanwhile."""
    mark = len(run.lines)
    pid = await run.pid(name)
    acked = len(sender.acked)
    os.kill(pid, signal.SIGKILL)
    await run.line(rf"^==> {re.escape(name)} \(pid {pid}\) was killed by SIGKILL; starting it again", 20, mark)
    await run.line(rf"^==> {re.escape(name)} is serving again on :\d+", 90, mark)
    async with asyncio.timeout(60):
        while len(sender.acked) < acked + 10:  # noqa: ASYNC110 - sends still get through the balancer
            await asyncio.sleep(0.05)


async def test_a_killed_gateway_and_chat_svc_replica_are_restarted_while_chat_goes_on(
    environment: dict[str, str], tmp_path: Path
) -> None:
    """With 2 replicas, SIGKILL a gateway then a chat_svc: each is restarted, and every send is delivered once."""
    run = Supervised(["--replicas", "2"], environment, tmp_path / "log")
    try:
        await run.line(r"Parley is running", 120)
        entry = f"127.0.0.1:{environment['GATEWAY_PORT']}"
        (alice, bob), room = await user_and_room(f"http://{entry}/api/v1", 2)
        urls = [f"ws://{entry}/api/v1/ws"]
        sender, reader = ChatClient("alice", alice[0], alice[1], urls), ChatClient("bob", bob[0], bob[1], urls)
        for client in (sender, reader):
            client.start()
        async with asyncio.timeout(30):
            await asyncio.gather(sender.ready.wait(), reader.ready.wait())

        async def chat() -> None:
            while True:
                await sender.send(room, f"hello {sender.sent}")
                await asyncio.sleep(0.05)

        chatting = asyncio.create_task(chat())
        started = time.monotonic()
        await kill_and_see_it_return(run, "edge_gateway-0", sender)
        gateway_back = time.monotonic() - started
        await kill_and_see_it_return(run, "chat_svc-0", sender)
        chatting.cancel()
        async with asyncio.timeout(60):  # everything sent is acked, and reaches the other member
            while sender.pending or set(reader.seqs(room)) < set(sender.acked.values()):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        for client in (sender, reader):
            await client.stop()
        assert run.process.poll() is None, "the supervisor stopped"
        print(f"sent {sender.sent}, gateway back after {gateway_back:.1f} s, total {time.monotonic() - started:.1f} s")
        assert sorted(set(reader.seqs(room))) == sorted(sender.acked.values())
        assert len(set(sender.acked.values())) == sender.sent  # one stored message per send
    finally:
        status = run.stop()
    assert status == 0, "\n".join(run.lines[-40:])
    assert run.lines[-1] == "==> stopped"


async def test_a_crash_looping_last_gateway_stops_everything_with_a_clear_message(
    environment: dict[str, str], tmp_path: Path
) -> None:
    """One replica each: a gateway that cannot start again (its port taken) crash-loops; all stop with status 1."""
    run = Supervised(["--restarts", "2", "--within", "60"], environment, tmp_path / "log")
    squatter = socket.socket()
    try:
        await run.line(r"Parley is running", 120)
        pid = await run.pid("edge_gateway")
        port = int(environment["GATEWAY_PORT"])
        os.kill(pid, signal.SIGKILL)
        for _ in range(50):  # the port is free the moment the process is gone; take it before the restart
            try:
                squatter.bind(("127.0.0.1", port))
                break
            except OSError:
                await asyncio.sleep(0.01)
        squatter.listen()
        await run.line(r"^==> edge_gateway .*3 exits within 60 s, it keeps failing", 120)
        await run.line(r"^==> no edge_gateway is left running; stopping everything", 5)
        await run.line(r"^==> stopped$", 60)
        assert run.process.wait(10) == 1
    finally:
        squatter.close()
        run.stop()
    log = (tmp_path / "log" / "edge_gateway.log").read_text()
    assert "address already in use" in log.lower()  # the reason is in its log, as the message says
