"""No log line of any component holds a password, a token or a message body, even at DEBUG."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import orjson
import pytest
import websockets

from tests.support.otlp import Collector
from tests.support.stack import Stack

pytestmark = pytest.mark.mysql


async def test_no_component_logs_passwords_tokens_or_bodies(traced_stack: tuple[Stack, Collector]) -> None:
    """Sign up and in with a password, send secret-looking bodies over REST and the WebSocket: no log holds them."""
    stack, _ = traced_stack
    password = f"pw-{secrets.token_hex(12)}"
    bodies = [f"sk_live_{secrets.token_hex(16)}", f"sk_live_{secrets.token_hex(16)}"]
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as api:
        name = f"leak_{secrets.token_hex(5)}"
        registered = await api.post("/auth/register", json={"username": name, "password": password})
        assert registered.status_code == 201, registered.text
        signed_in = await api.post("/auth/login", json={"username": name, "password": password})
        assert signed_in.status_code == 200, signed_in.text
        session = signed_in.json()["session"]
        refreshed = await api.post("/auth/refresh", json={"refresh_token": session["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        token = refreshed.json()["session"]["access_token"]
        api.headers["Authorization"] = f"Bearer {token}"
        room = (await api.post("/rooms", json={"kind": "public", "name": "leaks"})).json()["id"]
        sent = await api.post(f"/rooms/{room}/messages", json={"client_msg_id": "l1", "body": bodies[0]})
        assert sent.status_code == 201, sent.text
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
        assert orjson.loads(await ws.recv())["type"] == "ready"
        await ws.send(
            orjson.dumps(
                {"type": "send", "ref": "1", "room_id": room, "client_msg_id": "l2", "body": bodies[1]}
            ).decode()
        )
        while orjson.loads(await ws.recv())["type"] != "send_ack":
            pass
    await asyncio.sleep(0.5)  # the processes' last lines reach their readers
    secrets_ = [
        password,
        *bodies,
        token,
        session["access_token"],
        session["refresh_token"],
        refreshed.json()["session"]["refresh_token"],
    ]
    lines = {
        component: [line for p in processes for line in p.lines] for component, processes in stack.processes.items()
    }
    assert all(lines[c] for c in ("auth_svc", "chat_svc", "edge_gateway")), "every component has logged"
    leaks = [
        (component, line) for component, found in lines.items() for line in found if any(s in line for s in secrets_)
    ]
    assert leaks == []
