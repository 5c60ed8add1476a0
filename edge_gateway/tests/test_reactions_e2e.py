"""Reactions, room settings and roles end to end: real gateway, auth_svc and chat_svc on MySQL, REST and WebSocket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import websockets

from common.limits import REACTION_EMOJI_MAX
from edge_gateway.tests.conftest import GatewayStack
from edge_gateway.tests.test_ws_e2e import Client, User, bearer, private_room, register, signed_in

pytestmark = pytest.mark.mysql


@pytest.fixture
async def connect(stack: GatewayStack) -> AsyncIterator[Any]:
    """Factory: a Client that has sent its auth frame (with any cursors), closed at the end."""
    opened: list[Any] = []

    async def open_client(user: User, **auth: Any) -> Client:
        ws = await websockets.connect(stack.ws_url)
        opened.append(ws)
        client = Client(ws)
        await client.send(type="auth", token=user.token, **auth)
        return client

    yield open_client
    for ws in opened:
        await ws.close()


def reactions_url(room: int, seq: int, emoji: str) -> str:
    """The route of one emoji's reaction to a message, the emoji URL-encoded."""
    return f"/rooms/{room}/messages/{seq}/reactions/{quote(emoji, safe='')}"


async def post(api: httpx.AsyncClient, user: User, room: int, body: str, key: str) -> dict[str, Any]:
    """Send a message over REST; the stored message."""
    response = await api.post(
        f"/rooms/{room}/messages", json={"client_msg_id": key, "body": body}, headers=bearer(user)
    )
    assert response.status_code == 201, response.text
    message: dict[str, Any] = response.json()["message"]
    return message


async def room_state(api: httpx.AsyncClient, user: User, room: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The room as its owner sees it, and its history."""
    got = await api.get(f"/rooms/{room}", headers=bearer(user))
    page = await api.get(f"/rooms/{room}/messages", headers=bearer(user))
    assert got.status_code == page.status_code == 200
    return got.json(), page.json()["messages"]


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    """(status, code, message) of an error answer."""
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


# -- reactions ----------------------------------------------------------------------------------------


async def test_a_reaction_added_twice_counts_once_and_its_removal_reaches_the_other_user(
    api: httpx.AsyncClient, connect: Any
) -> None:
    """A react frame sent twice is one reaction (changed, then not); its removal over REST reaches alice live."""
    alice, bob = await register(api, "alice"), await register(api, "bob")
    room = await private_room(api, alice, bob)
    seq = (await post(api, alice, room, "react to me", "r1"))["seq"]
    a, b = await signed_in(connect, alice), await signed_in(connect, bob)
    for ref in ("x1", "x2"):
        await b.send(type="react", ref=ref, room_id=room, seq=seq, emoji="👍", add=True)
    first, second = await b.expect("react_ack", ref="x1"), await b.expect("react_ack", ref="x2")
    assert (first["changed"], second["changed"]) == (True, False)
    assert second["message"]["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [bob.id], "me": True}]
    added = await a.expect("reaction", room_id=room)
    assert (added["seq"], added["user_id"], added["emoji"], added["added"]) == (seq, bob.id, "👍", True)
    assert added["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [bob.id], "me": False}]
    removed = await api.delete(reactions_url(room, seq, "👍"), headers=bearer(bob))
    assert removed.status_code == 200 and removed.json()["changed"] is True
    live = await a.expect("reaction", room_id=room)
    assert (live["added"], live["reactions"], live["change"]) == (False, [], removed.json()["message"]["change"])
    assert [f for f in await a.quiet(0.3) if f["type"] == "reaction"] == []  # the repeated add sent nothing


async def test_history_carries_the_aggregate_with_me_for_the_caller(api: httpx.AsyncClient) -> None:
    """GET messages lists each emoji with its count and users, `me` true only for the caller's own."""
    alice, bob = await register(api, "alice"), await register(api, "bob")
    room = await private_room(api, alice, bob)
    seq = (await post(api, alice, room, "hello", "h1"))["seq"]
    for user, emoji in ((bob, "🎉"), (alice, "👍🏽"), (alice, "🎉")):
        assert (await api.put(reactions_url(room, seq, emoji), headers=bearer(user))).status_code == 200
    page = await api.get(f"/rooms/{room}/messages", headers=bearer(bob))
    assert page.json()["messages"][0]["reactions"] == [
        {"emoji": "🎉", "count": 2, "user_ids": [bob.id, alice.id], "me": True},
        {"emoji": "👍🏽", "count": 1, "user_ids": [alice.id], "me": False},
    ]


@pytest.mark.parametrize("emoji", ["ok", "👍👍", "🙂 "], ids=["text", "two-emoji", "trailing-space"])
async def test_anything_but_one_emoji_is_a_clear_400_and_changes_nothing(
    api: httpx.AsyncClient, connect: Any, emoji: str
) -> None:
    """REST and WS both answer invalid_argument "... is not an emoji"; the message keeps no reaction."""
    alice = await register(api, "alice")
    room = await private_room(api, alice)
    seq = (await post(api, alice, room, "hello", "e1"))["seq"]
    before, _ = await room_state(api, alice, room)
    status, code, message = error_of(await api.put(reactions_url(room, seq, emoji), headers=bearer(alice)))
    assert (status, code) == (400, "invalid_argument") and "is not an emoji" in message
    a = await signed_in(connect, alice)
    await a.send(type="react", ref="bad", room_id=room, seq=seq, emoji=emoji, add=True)
    error = await a.expect("error", ref="bad")
    assert error["code"] == "invalid_argument" and "is not an emoji" in error["message"]
    after, messages = await room_state(api, alice, room)
    assert (after["last_change"], messages[0]["reactions"]) == (before["last_change"], [])


async def test_an_emoji_longer_than_the_limit_is_422(api: httpx.AsyncClient) -> None:
    """An emoji path segment over 16 code points is refused by the document's limit."""
    alice = await register(api, "alice")
    room = await private_room(api, alice)
    seq = (await post(api, alice, room, "hello", "l1"))["seq"]
    assert (await api.put(reactions_url(room, seq, "👍" * 17), headers=bearer(alice))).status_code == 422


async def test_a_21st_emoji_is_refused_and_changes_nothing(api: httpx.AsyncClient) -> None:
    """Past 20 distinct emoji a new one answers 429 resource_exhausted; the message keeps its 20."""
    alice = await register(api, "alice")
    room = await private_room(api, alice)
    seq = (await post(api, alice, room, "popular", "p1"))["seq"]
    emoji = [chr(0x1F600 + i) for i in range(REACTION_EMOJI_MAX + 1)]
    for one in emoji[:REACTION_EMOJI_MAX]:
        assert (await api.put(reactions_url(room, seq, one), headers=bearer(alice))).status_code == 200
    status, code, message = error_of(await api.put(reactions_url(room, seq, emoji[-1]), headers=bearer(alice)))
    assert (status, code) == (429, "resource_exhausted") and f"at most {REACTION_EMOJI_MAX}" in message
    _, messages = await room_state(api, alice, room)
    assert [r["emoji"] for r in messages[0]["reactions"]] == emoji[:REACTION_EMOJI_MAX]


# -- who may do what ------------------------------------------------------------------------------------


async def test_a_non_member_can_neither_react_nor_change_the_room(api: httpx.AsyncClient, connect: Any) -> None:
    """Eve, outside the room, is refused (403) reacting, renaming, setting a role and removing; nothing changes."""
    alice, bob, eve = await register(api, "alice"), await register(api, "bob"), await register(api, "eve")
    room = await private_room(api, alice, bob)
    seq = (await post(api, alice, room, "members only", "n1"))["seq"]
    before = await room_state(api, alice, room)
    attempts = [
        api.put(reactions_url(room, seq, "👍"), headers=bearer(eve)),
        api.delete(reactions_url(room, seq, "👍"), headers=bearer(eve)),
        api.patch(f"/rooms/{room}", json={"name": "eve's now"}, headers=bearer(eve)),
        api.put(f"/rooms/{room}/members/{bob.id}/role", json={"role": "moderator"}, headers=bearer(eve)),
        api.delete(f"/rooms/{room}/members/{bob.id}", headers=bearer(eve)),
    ]
    for attempt in attempts:
        response = await attempt
        assert error_of(response)[:2] == (403, "permission_denied"), response.text
    e = await signed_in(connect, eve)
    await e.send(type="react", ref="r", room_id=room, seq=seq, emoji="👍", add=True)
    assert (await e.expect("error", ref="r"))["code"] == "permission_denied"
    assert await room_state(api, alice, room) == before
    members = await api.get(f"/rooms/{room}/members", headers=bearer(alice))
    assert {(m["user_id"], m["role"]) for m in members.json()["members"]} == {(alice.id, "owner"), (bob.id, "member")}


async def test_a_moderator_deletes_anothers_message_and_the_tombstone_says_who(
    api: httpx.AsyncClient, connect: Any
) -> None:
    """The owner names bob moderator (role_changed live); bob deletes carol's message: deleted_by is bob."""
    alice, bob, carol = await register(api, "alice"), await register(api, "bob"), await register(api, "carol")
    room = await private_room(api, alice, bob, carol)
    seq = (await post(api, carol, room, "oops", "c1"))["seq"]
    c = await signed_in(connect, carol)
    named = await api.put(f"/rooms/{room}/members/{bob.id}/role", json={"role": "moderator"}, headers=bearer(alice))
    assert named.status_code == 200 and named.json()["role"] == "moderator"
    changed = await c.expect("role_changed", room_id=room)
    assert (changed["member"]["user_id"], changed["member"]["role"], changed["by_user_id"]) == (
        bob.id,
        "moderator",
        alice.id,
    )
    deleted = await api.delete(f"/rooms/{room}/messages/{seq}", headers=bearer(bob))
    assert deleted.status_code == 200 and deleted.json()["message"]["deleted_by"] == bob.id
    tombstone = await c.expect("message_deleted", room_id=room)
    assert (tombstone["message"]["deleted"], tombstone["message"]["deleted_by"]) == (True, bob.id)


async def test_a_removed_member_hears_why_and_then_nothing_more(api: httpx.AsyncClient, connect: Any) -> None:
    """Removing carol sends member_left with by_user_id, room_updated to the rest, and carol no later events."""
    alice, carol = await register(api, "alice"), await register(api, "carol")
    room = await private_room(api, alice, carol)
    a, c = await signed_in(connect, alice), await signed_in(connect, carol)
    removed = await api.delete(f"/rooms/{room}/members/{carol.id}", headers=bearer(alice))
    assert removed.status_code == 204, removed.text
    left = await c.expect("member_left", room_id=room)
    assert (left["user_id"], left["by_user_id"]) == (carol.id, alice.id)
    updated = await a.expect("room_updated", room_id=room)
    assert updated["room"]["member_count"] == 1 and updated["room"]["settings_change"] > 0
    await post(api, alice, room, "after carol", "a1")
    await a.expect("message", room_id=room)
    assert [f for f in await c.quiet(0.5) if f.get("room_id") == room] == []


async def test_a_room_update_changes_only_the_given_fields_and_reaches_members(
    api: httpx.AsyncClient, connect: Any
) -> None:
    """PATCH with a topic keeps the name, bumps settings_change, and members get room_updated."""
    alice, bob = await register(api, "alice"), await register(api, "bob")
    room = await private_room(api, alice, bob)
    b = await signed_in(connect, bob)
    patched = await api.patch(f"/rooms/{room}", json={"topic": "  plans  "}, headers=bearer(alice))
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["name"], body["topic"], body["settings_change"]) == ("ws test", "plans", body["last_change"])
    live = await b.expect("room_updated", room_id=room)
    assert live["room"] == body


# -- resume ---------------------------------------------------------------------------------------------


async def test_a_reconnecting_client_gets_everything_it_missed_in_order(api: httpx.AsyncClient, connect: Any) -> None:
    """Resuming brings missed messages (replies too) by seq, then every missed change by change, then live ones."""
    alice, bob = await register(api, "alice"), await register(api, "bob")
    room = await private_room(api, alice, bob)
    seen = [await post(api, alice, room, f"seen {i}", f"s{i}") for i in range(1, 4)]
    cursor = {"room_id": room, "after_seq": seen[-1]["seq"], "after_change": seen[-1]["change"]}
    steps = [  # while bob is away
        api.put(reactions_url(room, seen[0]["seq"], "👍"), headers=bearer(alice)),
        api.post(
            f"/rooms/{room}/messages",
            json={"client_msg_id": "m1", "body": "a reply", "thread_root_seq": seen[0]["seq"]},
            headers=bearer(alice),
        ),
        api.patch(f"/rooms/{room}", json={"name": "renamed"}, headers=bearer(alice)),
        api.put(f"/rooms/{room}/members/{bob.id}/role", json={"role": "moderator"}, headers=bearer(alice)),
        api.delete(f"/rooms/{room}/messages/{seen[1]['seq']}", headers=bearer(alice)),
        api.patch(f"/rooms/{room}/messages/{seen[2]['seq']}", json={"body": "seen 3, edited"}, headers=bearer(alice)),
        api.put(reactions_url(room, seen[0]["seq"], "🎉"), headers=bearer(alice)),  # seen[0] again: one newest state
        api.post(f"/rooms/{room}/messages", json={"client_msg_id": "m2", "body": "missed 2"}, headers=bearer(alice)),
    ]
    for step in steps:
        assert (await step).status_code in (200, 201)
    b: Client = await connect(bob, cursors=[cursor])
    await b.expect("ready")
    replay = []
    while (frame := await b.next())["type"] != "caught_up":
        replay.append(frame)
    kinds = [(f["type"], f.get("message", {}).get("seq")) for f in replay]
    assert kinds == [
        ("message", 4),
        ("message", 5),
        ("room_updated", None),
        ("role_changed", None),
        ("message_deleted", 2),
        ("message_updated", 3),
        ("message_updated", 1),
    ]
    assert replay[0]["message"]["thread_root_seq"] == seen[0]["seq"] and replay[1]["message"]["thread_root_seq"] == 0
    assert replay[2]["room"]["name"] == "renamed" and replay[3]["member"]["role"] == "moderator"
    assert replay[5]["message"]["body"] == "seen 3, edited"
    assert replay[6]["message"]["thread"]["reply_count"] == 1  # the root's newest state: its summary too
    assert [(r["emoji"], r["count"], r["me"]) for r in replay[6]["message"]["reactions"]] == [
        ("👍", 1, False),
        ("🎉", 1, False),
    ]
    changes = [
        replay[2]["room"]["settings_change"],
        replay[3]["member"]["role_change"],
        *(f["message"]["change"] for f in replay[4:]),
    ]
    assert changes == sorted(changes) and changes[0] > cursor["after_change"]
    await post(api, alice, room, "live", "l1")
    assert (await b.expect("message", room_id=room))["message"]["seq"] == 6
