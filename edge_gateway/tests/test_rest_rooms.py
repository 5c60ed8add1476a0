"""REST rooms end to end: private rooms, public channels, direct rooms, members and presence."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from edge_gateway.tests.conftest import NewUser

pytestmark = pytest.mark.mysql


async def _create(client: httpx.AsyncClient, kind: str = "private", **fields: Any) -> dict[str, Any]:
    name = fields.pop("name", f"room {uuid.uuid4().hex[:8]}")
    response = await client.post("/rooms", json={"kind": kind, "name": name, **fields})
    assert response.status_code == 201, response.text
    room: dict[str, Any] = response.json()
    return room


def _code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def test_create_private_room_with_members_answers_201(new_user: NewUser) -> None:
    """POST /rooms answers 201 with the room; the caller owns it and member_ids are invited, not yet in it."""
    alice, a = await new_user("alice")
    bob, b = await new_user("bob")
    response = await a.post("/rooms", json={"kind": "private", "name": "lunch", "member_ids": [bob["id"]]})
    assert response.status_code == 201
    room = response.json()
    assert (room["kind"], room["name"], room["created_by"], room["member_count"]) == (
        "private",
        "lunch",
        alice["id"],
        1,
    )
    [invitation] = (await b.get("/invitations")).json()["invitations"]
    assert (invitation["room"]["id"], invitation["inviter_id"]) == (room["id"], alice["id"])


async def _accept(client: httpx.AsyncClient, room_id: int) -> dict[str, Any]:
    response = await client.post(f"/invitations/{room_id}/accept")
    assert response.status_code == 200, response.text
    room: dict[str, Any] = response.json()
    return room


async def test_accepting_an_invitation_lists_the_room_and_declining_sticks(new_user: NewUser) -> None:
    """POST /invitations/{id}/accept joins (200, the room); a declined one cannot be sent again (400)."""
    _, a = await new_user("alice")
    bob, b = await new_user("bob")
    carol, c = await new_user("carol")
    room = await _create(a, member_ids=[bob["id"], carol["id"]])
    assert (await _accept(b, room["id"]))["member_count"] == 2
    assert [r["room"]["id"] for r in (await b.get("/rooms")).json()["rooms"]] == [room["id"]]
    assert (await c.post(f"/invitations/{room['id']}/decline")).status_code == 204
    assert (await c.get("/invitations")).json() == {"invitations": []}
    again = await a.post(f"/rooms/{room['id']}/members", json={"user_id": carol["id"]})
    assert _code(again) == (400, "failed_precondition") and "declined" in again.json()["error"]["message"]


async def test_a_blocked_user_cannot_open_a_direct_room(new_user: NewUser) -> None:
    """PUT /blocks/{id} answers 204; the blocked user's POST /direct is 403; GET /blocks lists, DELETE lifts it."""
    alice, a = await new_user("alice")
    bob, b = await new_user("bob")
    assert (await b.put(f"/blocks/{alice['id']}")).status_code == 204
    assert _code(await a.post("/direct", json={"user_id": bob["id"]})) == (403, "permission_denied")
    assert [u["user_id"] for u in (await b.get("/blocks")).json()["users"]] == [alice["id"]]
    assert (await b.delete(f"/blocks/{alice['id']}")).status_code == 204
    assert (await a.post("/direct", json={"user_id": bob["id"]})).status_code == 201


async def test_my_rooms_are_paged_by_id(new_user: NewUser) -> None:
    """GET /rooms with after and limit visits each of the caller's rooms once, with has_more."""
    _, a = await new_user("alice")
    made = [(await _create(a))["id"] for _ in range(3)]
    first = (await a.get("/rooms", params={"limit": 2})).json()
    rest = (await a.get("/rooms", params={"limit": 2, "after": first["rooms"][-1]["room"]["id"]})).json()
    assert (first["has_more"], rest["has_more"]) == (True, False)
    assert [r["room"]["id"] for r in first["rooms"] + rest["rooms"]] == made


async def test_members_of_a_private_room_exchange_messages(new_user: NewUser) -> None:
    """A private room's owner and invitee both post, and both read the same history."""
    _, a = await new_user("alice")
    bob, b = await new_user("bob")
    room = await _create(a, member_ids=[bob["id"]])
    await _accept(b, room["id"])
    for client, key, text in ((a, "a1", "hi bob"), (b, "b1", "hi alice")):
        response = await client.post(f"/rooms/{room['id']}/messages", json={"client_msg_id": key, "body": text})
        assert response.status_code == 201
    seen = [
        [(m["seq"], m["body"]) for m in (await c.get(f"/rooms/{room['id']}/messages")).json()["messages"]]
        for c in (a, b)
    ]
    assert seen == [[(1, "hi bob"), (2, "hi alice")]] * 2


async def test_outsider_gets_403_on_private_room_messages(new_user: NewUser) -> None:
    """Someone outside a private room gets 403 reading or posting its messages."""
    _, a = await new_user("alice")
    _, c = await new_user("carol")
    room = await _create(a)
    assert _code(await c.get(f"/rooms/{room['id']}/messages")) == (403, "permission_denied")
    response = await c.post(f"/rooms/{room['id']}/messages", json={"client_msg_id": "x", "body": "let me in"})
    assert _code(response) == (403, "permission_denied")


async def test_outsider_gets_403_on_private_room_presence(new_user: NewUser) -> None:
    """Someone outside a private room gets 403 on its presence."""
    _, a = await new_user("alice")
    _, c = await new_user("carol")
    room = await _create(a)
    assert _code(await c.get(f"/rooms/{room['id']}/presence")) == (403, "permission_denied")


async def test_presence_of_a_room_without_sockets_is_empty(new_user: NewUser) -> None:
    """A member gets the room's presence; with no socket open nobody is online."""
    _, a = await new_user("alice")
    room = await _create(a)
    response = await a.get(f"/rooms/{room['id']}/presence")
    assert response.status_code == 200 and response.json() == {"room_id": room["id"], "online": []}


async def test_unknown_room_is_404(new_user: NewUser) -> None:
    """A room id that does not exist answers 404 for the room, its messages and its presence."""
    _, a = await new_user("alice")
    for path in ("/rooms/987654321", "/rooms/987654321/messages", "/rooms/987654321/presence"):
        assert _code(await a.get(path)) == (404, "not_found"), path


async def test_invite_answers_201_with_the_invitation(new_user: NewUser) -> None:
    """POST /rooms/{id}/members sends a pending invitation and answers 201 with it."""
    alice, a = await new_user("alice")
    bob, _ = await new_user("bob")
    room = await _create(a)
    response = await a.post(f"/rooms/{room['id']}/members", json={"user_id": bob["id"]})
    assert response.status_code == 201
    sent = response.json()
    assert (sent["already_member"], sent["invitation"]["user_id"], sent["invitation"]["inviter_id"]) == (
        False,
        bob["id"],
        alice["id"],
    )


async def test_members_are_paged_by_user_id(new_user: NewUser) -> None:
    """GET /rooms/{id}/members pages by user id with after and limit."""
    alice, a = await new_user("alice")
    joiners = [await new_user(f"m{i}") for i in range(3)]
    others = [user["id"] for user, _ in joiners]
    room = await _create(a, member_ids=others)
    for _, client in joiners:
        await _accept(client, room["id"])
    first = (await a.get(f"/rooms/{room['id']}/members", params={"limit": 2})).json()
    rest = (await a.get(f"/rooms/{room['id']}/members", params={"after": first["members"][-1]["user_id"]})).json()
    ids = [m["user_id"] for m in first["members"] + rest["members"]]
    assert (first["has_more"], rest["has_more"]) == (True, False)
    assert ids == sorted([alice["id"], *others])


async def test_public_rooms_can_be_found_by_name(new_user: NewUser) -> None:
    """GET /rooms/public?query= finds public channels by part of their name, not private rooms."""
    _, a = await new_user("alice")
    _, b = await new_user("bob")
    tag = uuid.uuid4().hex[:8]
    public = await _create(a, "public", name=f"general {tag}")
    await _create(a, "private", name=f"secret {tag}")
    response = await b.get("/rooms/public", params={"query": tag.upper()})
    assert response.status_code == 200 and response.json() == {"rooms": [public], "has_more": False}


async def test_public_rooms_are_paged_by_id(new_user: NewUser) -> None:
    """Browsing public channels with after and limit visits each exactly once."""
    _, a = await new_user("alice")
    tag = uuid.uuid4().hex[:8]
    made = [(await _create(a, "public", name=f"page {tag} {i}"))["id"] for i in range(5)]
    seen: list[int] = []
    after, more = 0, True
    while more:
        page = (await a.get("/rooms/public", params={"query": tag, "after": after, "limit": 2})).json()
        seen += [room["id"] for room in page["rooms"]]
        after, more = (seen[-1] if seen else 0), page["has_more"]
    assert seen == made


async def test_joining_a_public_room_lists_it_among_mine(new_user: NewUser) -> None:
    """POST /rooms/{id}/join answers the room, which then appears in GET /rooms."""
    _, a = await new_user("alice")
    _, b = await new_user("bob")
    room = await _create(a, "public")
    response = await b.post(f"/rooms/{room['id']}/join")
    assert response.status_code == 200 and response.json()["member_count"] == 2
    mine = (await b.get("/rooms")).json()["rooms"]
    assert [(r["room"]["id"], r["role"]) for r in mine] == [(room["id"], "member")]


async def test_leaving_a_room_answers_204_and_drops_it_from_mine(new_user: NewUser) -> None:
    """POST /rooms/{id}/leave answers 204 and the room leaves GET /rooms."""
    _, a = await new_user("alice")
    _, b = await new_user("bob")
    room = await _create(a, "public")
    await b.post(f"/rooms/{room['id']}/join")
    response = await b.post(f"/rooms/{room['id']}/leave")
    assert response.status_code == 204 and response.content == b""
    assert (await b.get("/rooms")).json() == {"rooms": [], "has_more": False}


async def test_joining_a_private_room_is_403(new_user: NewUser) -> None:
    """A private room cannot be joined, only invited to."""
    _, a = await new_user("alice")
    _, b = await new_user("bob")
    room = await _create(a, "private")
    assert _code(await b.post(f"/rooms/{room['id']}/join")) == (403, "permission_denied")


async def test_creating_a_direct_room_through_post_rooms_is_422(new_user: NewUser) -> None:
    """POST /rooms accepts only public and private kinds; direct rooms come from POST /direct."""
    _, a = await new_user("alice")
    response = await a.post("/rooms", json={"kind": "direct", "name": "x"})
    assert _code(response) == (422, "invalid_argument")


async def test_direct_room_is_created_once(new_user: NewUser) -> None:
    """POST /direct answers 201 and created=true first, then 200 with the same room from the other side, who joins."""
    alice, a = await new_user("alice")
    bob, b = await new_user("bob")
    first = await a.post("/direct", json={"user_id": bob["id"]})
    again = await b.post("/direct", json={"user_id": alice["id"]})
    assert (first.status_code, first.json()["created"]) == (201, True)
    assert (again.status_code, again.json()["created"]) == (200, False)
    assert again.json()["room"]["id"] == first.json()["room"]["id"]
    assert (first.json()["room"]["member_count"], again.json()["room"]["member_count"]) == (1, 2)
    assert first.json()["room"]["direct_user_ids"] == sorted([alice["id"], bob["id"]])


async def test_direct_room_with_an_unknown_user_is_404(new_user: NewUser) -> None:
    """POST /direct with a user id nobody has answers 404."""
    _, a = await new_user("alice")
    assert _code(await a.post("/direct", json={"user_id": 999999999})) == (404, "not_found")


async def test_leaving_a_direct_room_is_400(new_user: NewUser) -> None:
    """A direct room cannot be left: 400 failed_precondition."""
    _, a = await new_user("alice")
    bob, _ = await new_user("bob")
    room = (await a.post("/direct", json={"user_id": bob["id"]})).json()["room"]
    assert _code(await a.post(f"/rooms/{room['id']}/leave")) == (400, "failed_precondition")
