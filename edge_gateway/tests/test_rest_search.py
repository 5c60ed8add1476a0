"""GET /api/v1/search end to end (MySQL stack): hits with highlights, pages, filters, and the errors."""

from __future__ import annotations

import httpx
import pytest

from edge_gateway.tests.conftest import NewUser

pytestmark = pytest.mark.mysql


async def _room(owner: httpx.AsyncClient, *members: tuple[dict[str, int], httpx.AsyncClient]) -> int:
    """A private room of owner's with these (user, client) members, who accept their invitations."""
    body = {"kind": "private", "name": "finds", "member_ids": [user["id"] for user, _ in members]}
    response = await owner.post("/rooms", json=body)
    assert response.status_code == 201, response.text
    for _, client in members:
        accepted = await client.post(f"/invitations/{response.json()['id']}/accept")
        assert accepted.status_code == 200, accepted.text
    return int(response.json()["id"])


async def _send(client: httpx.AsyncClient, room: int, key: str, body: str) -> dict[str, object]:
    response = await client.post(f"/rooms/{room}/messages", json={"client_msg_id": key, "body": body})
    assert response.status_code == 201, response.text
    return dict(response.json()["message"])


async def test_search_finds_the_callers_messages_with_highlights(new_user: NewUser) -> None:
    """A word sent by another member is found with its highlight; an outsider finds nothing."""
    _, alice = await new_user("alice")
    bob, bob_client = await new_user("bob")
    _, eve = await new_user("eve")
    room = await _room(alice, (bob, bob_client))
    sent = await _send(bob_client, room, "s1", "🚀 Launch checklist ready")
    response = await alice.get("/search", params={"q": "launch CHECK"})
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_page_token"] is None
    (hit,) = page["hits"]
    assert hit["message"] == sent
    assert hit["highlights"] == [[2, 8], [9, 18]]
    assert (await eve.get("/search", params={"q": "launch"})).json()["hits"] == []


async def test_pages_filters_and_errors(new_user: NewUser) -> None:
    """Pages (limit, page_token) hold each hit once; room_id and sender_id filter; bad input is a clear 400/403."""
    _, alice = await new_user("alice")
    bob, bob_client = await new_user("bob")
    one, two = await _room(alice, (bob, bob_client)), await _room(alice)
    for n in range(3):
        await _send(alice, one, f"a{n}", f"sprint review {n}")
    await _send(bob_client, one, "b0", "sprint planning")
    await _send(alice, two, "a9", "sprint retro")
    seen: list[tuple[int, int]] = []
    params: dict[str, str | int] = {"q": "sprint", "limit": 2}
    while True:
        page = (await alice.get("/search", params=params)).json()
        seen += [(h["message"]["room_id"], h["message"]["seq"]) for h in page["hits"]]
        if not page["next_page_token"]:
            break
        params["page_token"] = page["next_page_token"]
    assert seen == [(two, 1), (one, 4), (one, 3), (one, 2), (one, 1)]
    only = await alice.get("/search", params={"q": "sprint", "room_id": two})
    assert [h["message"]["seq"] for h in only.json()["hits"]] == [1]
    by_bob = await alice.get("/search", params={"q": "sprint", "sender_id": bob["id"]})
    assert [h["message"]["body"] for h in by_bob.json()["hits"]] == ["sprint planning"]
    later = await alice.get("/search", params={"q": "sprint", "since": "2999-01-01T00:00:00Z"})
    assert later.json()["hits"] == []
    errors = {
        "operators only": await alice.get("/search", params={"q": '+-"*()~<>@'}),
        "too long": await alice.get("/search", params={"q": "x" * 201}),
        "bad token": await alice.get("/search", params={"q": "sprint", "page_token": "forged"}),
        "not mine": await bob_client.get("/search", params={"q": "sprint", "room_id": two}),
    }
    codes = {name: (r.status_code, r.json()["error"]["code"]) for name, r in errors.items()}
    assert codes == {
        "operators only": (400, "invalid_argument"),
        "too long": (400, "invalid_argument"),
        "bad token": (400, "invalid_argument"),
        "not mine": (403, "permission_denied"),
    }
