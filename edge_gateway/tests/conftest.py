"""Fixtures for the gateway's end-to-end tests: real auth_svc, chat_svc and gateway processes on MySQL.

`stack` (tests.support.stack) starts the three processes once per session on fresh
parley_test_gw_* databases; `traced_stack` another such stack (with a broker) that exports its
traces to an in-test OTLP collector and logs at DEBUG; `api` is an anonymous HTTP client for
/api/v1; `stack.register()` signs up a fresh user; `new_user(prefix)` does that and gives a client
signed in as them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
import websockets

from tests.support import mysql
from tests.support.otlp import Collector
from tests.support.stack import GATEWAY_SECRET as GATEWAY_SECRET, PASSWORD as PASSWORD, Stack

GatewayStack = Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """auth_svc, chat_svc and edge_gateway as processes on fresh parley_test_gw_* MySQL databases."""
    if mysql.unavailable_reason():
        pytest.skip(mysql.unavailable_reason() or "")
    started = Stack(tmp_path_factory.mktemp("gw-stack"))
    try:
        yield started.create_databases("parley_test_gw").up()
    finally:
        started.stop()


@pytest.fixture(scope="session")
def traced_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Collector]]:
    """A stack with a broker whose processes export spans over OTLP to a collector here, and log at DEBUG."""
    if mysql.unavailable_reason():
        pytest.skip(mysql.unavailable_reason() or "")
    collector = Collector().start()
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # export within a tenth of a second, not five
        **{f"{prefix}_LOG_LEVEL": "DEBUG" for prefix in ("AUTH", "CHAT", "GATEWAY")},
    }
    started = Stack(tmp_path_factory.mktemp("traced-stack"), env=env)
    try:
        yield started.create_databases("parley_test_tr").up(broker=True), collector
    finally:
        started.stop()
        collector.stop()


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the gateway's REST API (/api/v1)."""
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as client:
        yield client


@pytest.fixture
async def as_user(stack: Stack) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """Factory: an HTTP client for /api/v1 that sends `Authorization: Bearer <token>`."""
    clients: list[httpx.AsyncClient] = []

    def make(token: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=stack.api_url, timeout=10, headers={"Authorization": f"Bearer {token}"})
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


NewUser = Callable[[str], Awaitable[tuple[dict[str, Any], httpx.AsyncClient]]]


@pytest.fixture
def new_user(stack: Stack, as_user: Callable[[str], httpx.AsyncClient]) -> NewUser:
    """Factory: sign up a fresh user; (user JSON, a client signed in as them)."""

    async def make(prefix: str) -> tuple[dict[str, Any], httpx.AsyncClient]:
        user, token = await asyncio.to_thread(stack.register, prefix)
        return user, as_user(token)

    return make


async def signed_in_socket(stack: Stack, token: str) -> Any:
    """A raw WebSocket of the stack's gateway, signed in with the token and past caught_up."""
    ws = await websockets.connect(stack.ws_url)
    await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
    while orjson.loads(await asyncio.wait_for(ws.recv(), 5))["type"] != "caught_up":
        pass
    return ws
