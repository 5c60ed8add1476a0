"""The container health check CLI against a real grpc.aio server on port 0."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NamedTuple

import grpc
import pytest

from common import healthcheck
from common.server import add_health_and_reflection, new_server, set_serving
from tests.support.processes import free_port

SERVICE = "parley.test.Echo"
ROOT = Path(__file__).resolve().parents[2]


class Running(NamedTuple):
    """A started server's address and health servicer."""

    target: str
    health: Any


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    """new_server() with health and reflection on port 0, marked SERVING, as the services do."""
    server = new_server()
    health = add_health_and_reflection(server, [SERVICE])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await set_serving(health, [SERVICE], True)
    try:
        yield Running(f"127.0.0.1:{port}", health)
    finally:
        await server.stop(None)


async def _main(*argv: str) -> int:
    # The CLI blocks; the server shares this event loop, so the check runs on a thread.
    return await asyncio.to_thread(healthcheck.main, list(argv))


@pytest.mark.parametrize("service", ["", SERVICE], ids=["server", "service"])
async def test_serving_exits_0(running: Running, service: str, capsys: pytest.CaptureFixture[str]) -> None:
    """SERVING, for the whole server or a named service, exits 0 and says so."""
    assert await _main(running.target, *([service] if service else [])) == 0
    assert capsys.readouterr().out.strip().endswith(": SERVING")


async def test_not_serving_exits_1(running: Running) -> None:
    """A draining server (set_serving False, as on SIGTERM) is unhealthy."""
    await set_serving(running.health, [SERVICE], False)
    assert await asyncio.to_thread(healthcheck.check, running.target, SERVICE) == "NOT_SERVING"
    assert await _main(running.target, SERVICE) == 1


async def test_unknown_service_exits_1(running: Running) -> None:
    """A service name the server does not have is NOT_FOUND, hence unhealthy."""
    assert await asyncio.to_thread(healthcheck.check, running.target, "parley.test.Nope") == "NOT_FOUND"
    assert await _main(running.target, "parley.test.Nope") == 1


async def test_nothing_listening_exits_1_quickly() -> None:
    """With no server on the port the check fails UNAVAILABLE, well within its deadline."""
    started = time.monotonic()
    assert await asyncio.to_thread(healthcheck.check, f"127.0.0.1:{free_port()}") == "UNAVAILABLE"
    assert time.monotonic() - started < healthcheck.DEADLINE_SECONDS + 1


async def test_hanging_server_hits_the_deadline() -> None:
    """A server that accepts the call but never answers fails DEADLINE_EXCEEDED at the deadline."""

    async def hang(request: bytes, context: Any) -> bytes:
        await asyncio.sleep(30)
        return b""

    server = new_server()
    handler = grpc.unary_unary_rpc_method_handler(hang)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("grpc.health.v1.Health", {"Check": handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        started = time.monotonic()
        status = await asyncio.to_thread(healthcheck.check, f"127.0.0.1:{port}", "", 0.5)
        assert status == "DEADLINE_EXCEEDED"
        assert time.monotonic() - started < 3
    finally:
        await server.stop(None)


async def test_module_runs_as_a_command(running: Running) -> None:
    """`python -m common.healthcheck HOST:PORT SERVICE`, as HEALTHCHECK runs it, exits 0 when SERVING."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "common.healthcheck",
        running.target,
        SERVICE,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, out
    assert out.decode().strip() == f"{running.target} {SERVICE}: SERVING"
