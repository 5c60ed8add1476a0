"""The dev balancer of `scripts/run --replicas N`: round robin, skipping a backend that is down."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import pytest

from tests.support.processes import ROOT, free_port


async def backend(name: bytes) -> asyncio.Server:
    """A server that answers every connection with its name."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read(100)
        writer.write(name + b":" + data)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


@pytest.fixture
async def servers() -> AsyncIterator[list[asyncio.Server]]:
    """Two backends answering 'a' and 'b', closed afterwards."""
    started = [await backend(b"a"), await backend(b"b")]
    yield started
    for server in started:
        server.close()


async def ask(port: int) -> bytes:
    """Send one request through the balancer on `port` and return the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"hi")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(100), 5)
    writer.close()
    return answer


async def test_connections_alternate_and_skip_a_dead_backend(servers: list[asyncio.Server]) -> None:
    """The balancer alternates connections between backends and sends all to the live one when one dies."""
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    listen = free_port()
    command = [sys.executable, str(ROOT / "scripts" / "balancer.py"), str(listen), *map(str, ports)]
    balancer = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    try:
        assert balancer.stdout is not None
        assert b"balancer listening" in await asyncio.wait_for(balancer.stdout.readline(), 10)
        answers = [await ask(listen) for _ in range(4)]
        assert sorted(answers) == [b"a:hi", b"a:hi", b"b:hi", b"b:hi"]
        servers[0].close()
        await servers[0].wait_closed()
        assert [await ask(listen) for _ in range(3)] == [b"b:hi"] * 3
    finally:
        balancer.terminate()
        await balancer.wait()
