"""Floods, one per limit family, against two gateways sharing one Redis.

Each limit holds between the two gateways, and honest users in the same room keep sending meanwhile.

The stack runs with small limits (FLOOD_LIMITS) so that each flood is over in well under a second.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from edge_gateway.rates import DEFAULT_LIMITS
from tests.support import redis as redis_support
from tests.support.stack import PASSWORD, Stack

FLOOD_LIMITS = {
    **{name: "1000000 per second" for name in DEFAULT_LIMITS},
    "send": "10 per minute",
    "typing": "2 per minute",
    "create_room": "3 per minute",
    "sign_in": "5 per minute",
}
SOCKETS_PER_USER = 3


@pytest.fixture(scope="module")
def flood_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """auth_svc, one chat_svc and two gateways on SQLite, sharing a Redis, with FLOOD_LIMITS."""
    redis_support.require()
    env = {
        "GATEWAY_RATE_LIMITS": orjson.dumps(FLOOD_LIMITS).decode(),
        "GATEWAY_WS_SOCKETS_PER_USER": str(SOCKETS_PER_USER),
    }
    stack = Stack(Path(tmp_path_factory.mktemp("flood")), env=env)
    try:
        yield stack.create_databases().up(gateways=2, broker=True)
    finally:
        stack.stop()


def _api(stack: Stack, gateway: int) -> str:
    return f"http://{stack.gateways[gateway].address}/api/v1"


def _ws(stack: Stack, gateway: int) -> str:
    return _api(stack, gateway).replace("http://", "ws://", 1) + "/ws"


def _user(stack: Stack) -> tuple[dict[str, Any], str]:
    return stack.register("flood")


async def _signed_in(stack: Stack, gateway: int, token: str) -> Any:
    ws = await websockets.connect(_ws(stack, gateway))
    await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
    while orjson.loads(await ws.recv())["type"] != "caught_up":
        pass
    return ws


async def _answers(ws: Any, refs: set[str]) -> dict[str, dict[str, Any]]:
    """The frames answering refs (acks or errors, in whatever order they come), skipping events."""
    found: dict[str, dict[str, Any]] = {}
    while set(found) != refs:
        frame: dict[str, Any] = orjson.loads(await ws.recv())
        if frame.get("ref") in refs:
            found[frame["ref"]] = frame
    return found


async def _answer(ws: Any, ref: str) -> dict[str, Any]:
    """The frame answering ref (acks or errors), skipping events."""
    while True:
        frame: dict[str, Any] = orjson.loads(await ws.recv())
        if frame.get("ref") == ref:
            return frame


def _room(stack: Stack, token: str, *member_ids: int) -> int:
    response = httpx.post(
        f"{_api(stack, 0)}/rooms",
        json={"kind": "private", "name": f"r{uuid.uuid4().hex[:6]}", "member_ids": list(member_ids)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    room_id: int = response.json()["id"]
    return room_id


def _accept(stack: Stack, token: str, room_id: int) -> None:
    """The invitee accepts (members join by consent)."""
    response = httpx.post(
        f"{_api(stack, 0)}/invitations/{room_id}/accept", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code < 300, response.text


async def test_a_send_flood_over_two_gateways_stops_at_the_limit_while_others_send(flood_stack: Stack) -> None:
    """A user flooding sends through both gateways gets 10 stored in all; two honest users' sends all succeed."""
    _, flood_token = _user(flood_stack)
    honest = [_user(flood_stack) for _ in range(2)]
    room = _room(flood_stack, flood_token, *(user["id"] for user, _ in honest))
    for _, token in honest:
        _accept(flood_stack, token, room)
    sockets = [await _signed_in(flood_stack, gateway, flood_token) for gateway in (0, 1)]
    honest_sockets = [await _signed_in(flood_stack, i, token) for i, (_, token) in enumerate(honest)]
    latencies: list[float] = []

    async def flood() -> list[dict[str, Any]]:
        answers: list[dict[str, Any]] = []
        for n in range(60):
            ws = sockets[n % 2]
            await ws.send(
                orjson.dumps(
                    {"type": "send", "ref": f"f{n}", "room_id": room, "client_msg_id": f"f{n}", "body": "x"}
                ).decode()
            )
        for i, ws in enumerate(sockets):
            answers.extend((await _answers(ws, {f"f{n}" for n in range(i, 60, 2)})).values())
        return answers

    async def honest_sends(ws: Any, who: int) -> None:
        for n in range(5):  # under the limit: honest use
            started = time.perf_counter()
            ref = f"h{who}-{n}"
            await ws.send(
                orjson.dumps({"type": "send", "ref": ref, "room_id": room, "client_msg_id": ref, "body": "hi"}).decode()
            )
            answer = await _answer(ws, ref)
            latencies.append(time.perf_counter() - started)
            assert answer["type"] == "send_ack", answer

    answers, *_ = await asyncio.gather(flood(), *(honest_sends(ws, i) for i, ws in enumerate(honest_sockets)))
    refused = [a for a in answers if a["type"] == "error"]
    assert sum(a["type"] == "send_ack" for a in answers) == 10
    assert all(a["code"] == "resource_exhausted" and a["retry_after_ms"] > 0 for a in refused)
    stored = [seq for seq, body in flood_stack.stored_messages(room) if body == "x"]
    assert len(stored) == 10
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    p50 = latencies[len(latencies) // 2]
    print(f"\nhonest send latency during a send flood: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    for ws in sockets + honest_sockets:
        await ws.close()


async def test_a_typing_flood_over_two_gateways_stops_at_the_limit(flood_stack: Stack) -> None:
    """Typing frames through both gateways: 2 acks in all, then errors with a retry-after."""
    _, token = _user(flood_stack)
    room = _room(flood_stack, token)
    sockets = [await _signed_in(flood_stack, gateway, token) for gateway in (0, 1)]
    answers = []
    for n in range(10):
        await sockets[n % 2].send(orjson.dumps({"type": "typing", "ref": f"t{n}", "room_id": room}).decode())
        answers.append(await _answer(sockets[n % 2], f"t{n}"))
    assert [a["type"] for a in answers].count("typing_ack") == 2
    assert all(a["retry_after_ms"] > 0 for a in answers if a["type"] == "error")
    for ws in sockets:
        await ws.close()


def test_a_room_creation_flood_over_two_gateways_stops_at_the_limit(flood_stack: Stack) -> None:
    """POST /rooms through both gateways: 3 created in all, then 429 with Retry-After and retry_after_ms."""
    _, token = _user(flood_stack)
    statuses, refusals = [], []
    for n in range(8):
        response = httpx.post(
            f"{_api(flood_stack, n % 2)}/rooms",
            json={"kind": "public", "name": f"c{uuid.uuid4().hex[:8]}"},
            headers={"Authorization": f"Bearer {token}"},
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            refusals.append(response)
    assert statuses.count(201) == 3 and statuses.count(429) == 5
    for response in refusals:
        assert int(response.headers["Retry-After"]) >= 1
        assert response.json()["error"]["code"] == "resource_exhausted"
        assert response.json()["error"]["retry_after_ms"] > 0


def test_a_sign_in_flood_from_one_address_stops_at_the_limit(flood_stack: Stack) -> None:
    """Sign-ins from one address through both gateways: 5 answered in all (right or wrong), then 429."""
    user, _ = _user(flood_stack)
    statuses = []
    for n in range(10):
        password = PASSWORD if n % 3 == 0 else "wrong password!"
        response = httpx.post(
            f"{_api(flood_stack, n % 2)}/auth/login", json={"username": user["username"], "password": password}
        )
        statuses.append(response.status_code)
    assert len([s for s in statuses if s != 429]) == 5
    assert statuses[5:] == [429] * 5


async def test_sockets_over_the_per_user_cap_are_closed_with_4029(flood_stack: Stack) -> None:
    """A user's 4th socket on one gateway is closed with 4029; a socket on the other gateway still opens."""
    _, token = _user(flood_stack)
    kept = [await _signed_in(flood_stack, 0, token) for _ in range(SOCKETS_PER_USER)]
    extra = await websockets.connect(_ws(flood_stack, 0))
    await extra.send(orjson.dumps({"type": "auth", "token": token}).decode())
    frame = orjson.loads(await extra.recv())
    assert frame["type"] == "error" and frame["code"] == "resource_exhausted"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await extra.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4029
    elsewhere = await _signed_in(flood_stack, 1, token)  # the cap is per gateway
    for ws in [*kept, elsewhere]:
        await ws.close()
