"""Every component serves Prometheus metrics on a port of its own, never on the public one, and they add up."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from edge_gateway.tests.conftest import PASSWORD, GatewayStack, signed_in_socket
from tests.support.stack import AUTH, CHAT, GATEWAY

pytestmark = pytest.mark.mysql

SENDS = 3


@pytest.mark.parametrize("component", [AUTH, CHAT, GATEWAY])
def test_each_component_serves_its_process_metrics(stack: GatewayStack, component: str) -> None:
    """/metrics on the component's metrics port answers in Prometheus' text format, process CPU included."""
    response = httpx.get(stack.processes[component][0].metrics_url, timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "\nprocess_cpu_seconds_total " in response.text


def test_the_public_port_has_no_metrics(stack: GatewayStack) -> None:
    """The gateway's public port (behind the Ingress) does not serve /metrics."""
    assert httpx.get(f"{stack.gateway_url}/metrics", timeout=5).status_code == 404


# -- what the metrics say after real traffic --------------------------------------------------------

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(stack: GatewayStack, component: str) -> Samples:
    """Every sample a component's /metrics shows, by name and labels (parsed as Prometheus parses them)."""
    text = httpx.get(stack.processes[component][0].metrics_url, timeout=5).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def grown(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much a sample grew between two scrapes (0 for one not there yet)."""
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def _message_frames(ws: Any, quiet_s: float = 0.5) -> int:
    """Message frames received until the socket has been quiet for quiet_s."""
    count = 0
    with contextlib.suppress(TimeoutError):
        while True:
            frame = orjson.loads(await asyncio.wait_for(ws.recv(), quiet_s))
            count += frame["type"] == "message"
    return count


async def test_sends_are_counted_from_the_socket_to_the_database_and_back(stack: GatewayStack) -> None:
    """After sends over a WebSocket: messages stored = sends, delivery-lag count = message frames delivered."""
    _alice, alice_token = await asyncio.to_thread(stack.register, "alice")
    bob, bob_token = await asyncio.to_thread(stack.register, "bob")
    room = await asyncio.to_thread(stack.private_room, "metrics", alice_token, bob, bob_token)
    a, b = await signed_in_socket(stack, alice_token), await signed_in_socket(stack, bob_token)
    await _message_frames(a, 0.3), await _message_frames(b, 0.3)  # the room's news before the sends
    chat_before, gateway_before = scrape(stack, CHAT), scrape(stack, GATEWAY)
    try:
        for n in range(SENDS):
            send = {"type": "send", "ref": f"r{n}", "room_id": room, "client_msg_id": f"m{n}", "body": "hi"}
            await a.send(orjson.dumps(send).decode())
        to_alice, to_bob = await asyncio.gather(_message_frames(a), _message_frames(b))
        deliveries = to_alice + to_bob
    finally:
        await a.close()
        await b.close()
    chat_after, gateway_after = scrape(stack, CHAT), scrape(stack, GATEWAY)
    assert to_bob == SENDS
    assert grown(chat_before, chat_after, "parley_chat_messages_stored_total") == SENDS
    assert grown(chat_before, chat_after, "parley_chat_send_batch_size_sum") == SENDS
    assert grown(gateway_before, gateway_after, "parley_gateway_delivery_lag_seconds_count") == deliveries
    assert grown(gateway_before, gateway_after, "parley_gateway_frames_out_total", type="message") == deliveries
    assert grown(gateway_before, gateway_after, "parley_gateway_frames_out_total", type="send_ack") == SENDS
    assert grown(gateway_before, gateway_after, "parley_gateway_frames_in_total", type="send") == SENDS
    assert grown(gateway_before, gateway_after, "parley_gateway_bytes_written_total") > 0


async def test_sign_ins_are_counted_by_outcome(stack: GatewayStack) -> None:
    """A wrong password counts as bad_credentials and a right one as ok, in auth_svc and in the gRPC calls."""
    user, _token = await asyncio.to_thread(stack.register, "signin")
    auth_before, gateway_before = scrape(stack, AUTH), scrape(stack, GATEWAY)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as api:
        wrong = await api.post("/auth/login", json={"username": user["username"], "password": "not the password"})
        right = await api.post("/auth/login", json={"username": user["username"], "password": PASSWORD})
    assert (wrong.status_code, right.status_code) == (401, 200)
    auth_after, gateway_after = scrape(stack, AUTH), scrape(stack, GATEWAY)
    assert grown(auth_before, auth_after, "parley_auth_sign_ins_total", outcome="bad_credentials") == 1
    assert grown(auth_before, auth_after, "parley_auth_sign_ins_total", outcome="ok") == 1
    login = {"grpc_service": "parley.auth.v1.AuthService", "grpc_method": "Login"}
    for name, before, after in (
        ("parley_grpc_server_handled_total", auth_before, auth_after),
        ("parley_grpc_client_handled_total", gateway_before, gateway_after),
    ):
        assert grown(before, after, name, **login, grpc_code="UNAUTHENTICATED") == 1
        assert grown(before, after, name, **login, grpc_code="OK") == 1


async def test_rest_requests_are_counted_by_route_template(stack: GatewayStack) -> None:
    """REST requests are counted under their route's template and status, never their raw path."""
    _user, token = await asyncio.to_thread(stack.register, "rest")
    before = scrape(stack, GATEWAY)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as api:
        missing = await api.get("/rooms/987654321", headers={"Authorization": f"Bearer {token}"})
    assert missing.status_code in (403, 404)
    after = scrape(stack, GATEWAY)
    labels = {"route": "/api/v1/rooms/{room_id}", "method": "GET", "status": str(missing.status_code)}
    assert grown(before, after, "parley_gateway_http_requests_total", **labels) == 1
    assert not [key for key in after if "987654321" in str(key)]


async def test_refreshes_and_a_reused_refresh_token_are_counted(stack: GatewayStack) -> None:
    """A rotation counts ok; the spent token presented again counts refused and once as a reuse."""
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as api:
        name = f"refresher_{uuid.uuid4().hex[:8]}"
        registered = await api.post("/auth/register", json={"username": name, "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        spent = registered.json()["session"]["refresh_token"]
        before = scrape(stack, AUTH)
        rotated = await api.post("/auth/refresh", json={"refresh_token": spent})
        reused = await api.post("/auth/refresh", json={"refresh_token": spent})
    assert (rotated.status_code, reused.status_code) == (200, 401)
    after = scrape(stack, AUTH)
    assert grown(before, after, "parley_auth_refreshes_total", outcome="ok") == 1
    assert grown(before, after, "parley_auth_refreshes_total", outcome="refused") == 1
    assert grown(before, after, "parley_auth_refresh_reuse_total") == 1


async def test_a_throttled_sign_in_is_counted_as_throttled(stack: GatewayStack) -> None:
    """Past the free wrong tries, the next sign-in is refused (429) and counted throttled, not bad_credentials."""
    user, _token = await asyncio.to_thread(stack.register, "throttled")
    wrong = {"username": user["username"], "password": "not the password"}
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as api:
        answers = [(await api.post("/auth/login", json=wrong)).status_code for _ in range(3)]
        before = scrape(stack, AUTH)
        refused = await api.post("/auth/login", json={"username": user["username"], "password": PASSWORD})
    assert (answers, refused.status_code) == ([401, 401, 401], 429)
    after = scrape(stack, AUTH)
    assert grown(before, after, "parley_auth_sign_ins_total", outcome="throttled") == 1
    assert grown(before, after, "parley_auth_sign_ins_total", outcome="bad_credentials") == 0
