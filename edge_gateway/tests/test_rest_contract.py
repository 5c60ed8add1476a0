"""The gateway refuses what its OpenAPI document refuses, cleanly, at the edges the fuzz run found."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from edge_gateway import rules
from edge_gateway.app import create_app
from edge_gateway.schemas import INT64_MAX
from edge_gateway.settings import GatewaySettings
from edge_gateway.tests.conftest import GatewayStack, NewUser

PAST_INT64 = INT64_MAX + 1


async def _room(new_user: NewUser) -> tuple[httpx.AsyncClient, int, int]:
    """A user's client, their private room and the seq of a message in it."""
    _, client = await new_user("contract")
    room = (await client.post("/rooms", json={"kind": "private", "name": "edges"})).json()["id"]
    sent = await client.post(f"/rooms/{room}/messages", json={"client_msg_id": "c-1", "body": "hi"})
    return client, room, sent.json()["message"]["seq"]


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


@pytest.mark.parametrize(
    ("method", "path", "request_args"),
    [
        ("GET", "/rooms/{past}", {}),
        ("GET", "/users/{past}", {}),
        ("PATCH", "/rooms/{room}/messages/{past}", {"json": {"body": "x"}}),
        ("GET", "/rooms/public", {"params": {"after": PAST_INT64}}),
        ("GET", "/rooms/{room}/messages", {"params": {"before": PAST_INT64}}),
        ("GET", "/users", {"params": {"ids": [1, PAST_INT64]}}),
        ("POST", "/direct", {"json": {"user_id": PAST_INT64}}),
        ("POST", "/rooms", {"json": {"kind": "public", "name": "n", "member_ids": [PAST_INT64]}}),
        ("POST", "/rooms/{room}/read", {"json": {"seq": PAST_INT64}}),
    ],
)
async def test_an_id_past_int64_is_422(new_user: NewUser, method: str, path: str, request_args: dict[str, Any]) -> None:
    """An id or seq of 2^63, one past the protos' int64, answers 422 invalid_argument in a path, query or body."""
    client, room, _ = await _room(new_user)
    response = await client.request(method, path.format(past=PAST_INT64, room=room), **request_args)
    assert _error(response) == (422, "invalid_argument")


# Each paged route and the largest page size its service accepts.
PAGED = [
    ("/rooms/public", rules.PAGE_MAX),
    ("/rooms/{room}/messages", rules.PAGE_MAX),
    ("/rooms/{room}/members", rules.MEMBERS_PAGE_MAX),
]


@pytest.mark.parametrize(("path", "maximum"), PAGED)
async def test_a_limit_past_the_page_maximum_is_422(new_user: NewUser, path: str, maximum: int) -> None:
    """A page size over the service's maximum is refused by the gateway (the document used to allow 2^31-1)."""
    client, room, _ = await _room(new_user)
    response = await client.get(path.format(room=room), params={"limit": maximum + 1})
    assert _error(response) == (422, "invalid_argument")


@pytest.mark.parametrize(("path", "maximum"), PAGED)
async def test_a_limit_at_the_page_maximum_is_accepted(new_user: NewUser, path: str, maximum: int) -> None:
    """The largest page size the document allows is one the service accepts."""
    client, room, _ = await _room(new_user)
    assert (await client.get(path.format(room=room), params={"limit": maximum})).status_code == 200


async def test_a_405_allows_every_method_of_the_path(new_user: NewUser) -> None:
    """A method a path does not serve answers 405 whose Allow lists all of the path's routes, not the first one's."""
    client, room, seq = await _room(new_user)
    rooms = await client.request("OPTIONS", "/rooms")
    message = await client.request("PUT", f"/rooms/{room}/messages/{seq}")
    assert (_error(rooms), rooms.headers["allow"]) == ((405, "method_not_allowed"), "GET, POST")
    assert (message.status_code, message.headers["allow"]) == (405, "DELETE, PATCH")


async def test_patch_on_the_channel_browser_is_405_allowing_only_get(new_user: NewUser) -> None:
    """PATCH /rooms/public is not PATCH /rooms/{room_id} for a room "public": 405, and Allow names GET alone."""
    client, _, _ = await _room(new_user)
    response = await client.patch("/rooms/public", json={})
    assert (_error(response), response.headers["allow"]) == ((405, "method_not_allowed"), "GET")


async def test_more_user_ids_than_the_batch_maximum_is_422(new_user: NewUser) -> None:
    """More ids than auth_svc answers at once (500) are refused by the gateway, before the URL grows unbounded."""
    _, client = await new_user("batch")
    response = await client.get("/users", params={"ids": list(range(1, rules.BATCH_USERS_MAX + 2))})
    assert _error(response) == (422, "invalid_argument")


async def test_the_batch_maximum_of_user_ids_is_accepted(new_user: NewUser) -> None:
    """As many ids as the document allows are answered, unknown ones left out."""
    user, client = await new_user("batch")
    response = await client.get("/users", params={"ids": [user["id"], *range(INT64_MAX - 498, INT64_MAX + 1)]})
    assert (response.status_code, [found["id"] for found in response.json()["users"]]) == (200, [user["id"]])


async def test_more_members_than_a_new_room_takes_is_422(new_user: NewUser) -> None:
    """A new room with more member_ids than chat_svc adds at once (100) is refused by the gateway."""
    _, client = await new_user("crowd")
    body = {"kind": "private", "name": "crowd", "member_ids": list(range(1, rules.INVITES_MAX + 2))}
    assert _error(await client.post("/rooms", json=body)) == (422, "invalid_argument")


async def test_a_search_longer_than_a_room_name_is_422(new_user: NewUser) -> None:
    """A public-room search longer than a room name can be is refused by the gateway (the document said 1024)."""
    _, client = await new_user("search")
    response = await client.get("/rooms/public", params={"query": "x" * (rules.ROOM_NAME_MAX + 1)})
    assert _error(response) == (422, "invalid_argument")


async def test_a_room_name_the_document_allows_is_stored_trimmed(new_user: NewUser) -> None:
    """A name of 80 characters between whitespace, which the document's pattern allows, creates the room."""
    _, client = await new_user("trim")
    name = "n" * rules.ROOM_NAME_MAX
    response = await client.post("/rooms", json={"kind": "private", "name": f" \t{name}\n "})
    assert (response.status_code, response.json()["name"]) == (201, name)


async def test_client_errors_log_no_error_or_traceback(new_user: NewUser, stack: GatewayStack) -> None:
    """Malformed, oversized and refused requests leave no error line or traceback in the gateway's log."""
    client, room, _ = await _room(new_user)
    gateway = stack.gateway
    since = len(gateway.lines)
    await client.post(f"/rooms/{room}/messages", content=b"{not json", headers={"content-type": "application/json"})
    await client.get(f"/rooms/{PAST_INT64}")
    await client.post(f"/rooms/{room}/messages", json={"client_msg_id": "", "body": " "})
    await client.get("/users", params={"ids": ["x"]})
    await client.request("OPTIONS", "/rooms")
    await client.get("/rooms", headers={"Authorization": "Bearer not-a-token"})
    await asyncio.sleep(0.5)  # the log reader thread catches up
    logged = [line for line in gateway.lines[since:] if "Traceback" in line or '"level": "error"' in line.lower()]
    assert logged == []


async def test_api_answers_carry_the_security_headers(api: httpx.AsyncClient) -> None:
    """Every REST answer has a no-content CSP with frame-ancestors 'none', nosniff, no-referrer and DENY."""
    for response in (await api.get("/openapi.json"), await api.get("/rooms")):
        assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"


async def test_the_api_docs_can_be_turned_off() -> None:
    """GATEWAY_API_DOCS=false: neither the docs page nor the OpenAPI document is served."""
    app = create_app(GatewaySettings(client_secret="an-api-docs-test-secret", api_docs=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
        assert (await client.get("/api/v1/docs")).status_code == 404
        assert (await client.get("/api/v1/openapi.json")).status_code == 404
