"""Fixtures for the gateway's end-to-end tests: real auth_svc, chat_svc and gateway processes on MySQL.

`stack` starts the three processes once per session on fresh parley_test_gw_* databases; `api` is
an anonymous HTTP client for /api/v1; `stack.register()` signs up a fresh user; `new_user(prefix)`
does that and gives a client signed in as them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import create_engine, text

from tests.support import mysql
from tests.support.processes import ServiceProcess, run_command, start_service, wait_until_serving

GATEWAY_SECRET = "gw-rest-test-secret-0123456789"
PASSWORD = "correct horse battery"


@dataclass
class GatewayStack:
    """The running processes and how to reach them."""

    gateway_url: str
    auth_address: str
    chat_address: str
    chat_db_url: str
    keys_dir: Path
    processes: list[ServiceProcess] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        """Base URL of the REST API."""
        return f"{self.gateway_url}/api/v1"

    @property
    def ws_url(self) -> str:
        """URL of the WebSocket endpoint."""
        return self.api_url.replace("http://", "ws://", 1) + "/ws"

    async def register(self, prefix: str = "user", password: str = PASSWORD) -> tuple[dict[str, Any], str]:
        """Sign up a user with a unique name; (user JSON, access token)."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        async with httpx.AsyncClient(base_url=self.api_url, timeout=10) as client:
            response = await client.post("/auth/register", json={"username": name, "password": password})
        assert response.status_code == 201, response.text
        body = response.json()
        return body["user"], body["session"]["access_token"]

    def stored_messages(self, room_id: int) -> list[tuple[int, str]]:
        """(seq, body) of a room's messages as chat_db holds them, ascending seq."""
        engine = create_engine(self.chat_db_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT seq, body FROM messages WHERE room_id = :room ORDER BY seq"), {"room": room_id}
                )
                return [(int(seq), str(body)) for seq, body in rows]
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayStack]:
    """auth_svc, chat_svc and edge_gateway as processes on fresh parley_test_gw_* MySQL databases.

    Session-scoped, so the root `mysql_db` fixture (function-scoped) cannot be used: this calls the
    same tests.support.mysql helper with the same parley_test_ prefix.
    """
    if mysql.unavailable_reason():
        pytest.skip(mysql.unavailable_reason() or "")
    keys_dir = tmp_path_factory.mktemp("gw-auth-keys")
    chat_db = mysql.fresh_database("parley_test_gw_chat")
    env = {
        "AUTH_HOST": "127.0.0.1",
        "AUTH_PORT": "0",
        "AUTH_DATABASE_URL": mysql.fresh_database("parley_test_gw_auth"),
        "AUTH_KEYS_DIR": str(keys_dir),
        "AUTH_SERVICE_CLIENTS": orjson.dumps({"edge_gateway": GATEWAY_SECRET}).decode(),
        "CHAT_HOST": "127.0.0.1",
        "CHAT_PORT": "0",
        "CHAT_DATABASE_URL": chat_db,
        "CHAT_SEND_RATE_PER_SECOND": "100000",
        "CHAT_SEND_BURST": "100000",
        "CHAT_SHUTDOWN_GRACE_SECONDS": "5",
    }
    run_command("auth_svc", "migrate", env)
    run_command("chat_svc", "migrate", env)
    processes: list[ServiceProcess] = []
    try:
        auth = start_service("auth_svc", env)
        processes.append(auth)
        chat = start_service("chat_svc", {**env, "CHAT_AUTH_ADDRESS": auth.address})
        processes.append(chat)
        gateway_env = {
            **env,
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": "0",
            "GATEWAY_AUTH_ADDRESS": auth.address,
            "GATEWAY_CHAT_ADDRESS": chat.address,
            "GATEWAY_CLIENT_SECRET": GATEWAY_SECRET,
            "GATEWAY_SHUTDOWN_GRACE_SECONDS": "2",
        }
        gateway = start_service("edge_gateway", gateway_env)
        processes.append(gateway)
        url = f"http://{gateway.address}"
        wait_until_serving(url)
        yield GatewayStack(url, auth.address, chat.address, chat_db, keys_dir, processes)
    finally:
        for process in reversed(processes):
            process.stop()


@pytest.fixture
async def api(stack: GatewayStack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the gateway's REST API (/api/v1)."""
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as client:
        yield client


@pytest.fixture
async def as_user(stack: GatewayStack) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
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
def new_user(stack: GatewayStack, as_user: Callable[[str], httpx.AsyncClient]) -> NewUser:
    """Factory: sign up a fresh user; (user JSON, a client signed in as them)."""

    async def make(prefix: str) -> tuple[dict[str, Any], httpx.AsyncClient]:
        user, token = await stack.register(prefix)
        return user, as_user(token)

    return make
