"""Threads, mentions, counts and notification levels end to end: real gateway, auth_svc and chat_svc on MySQL."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from edge_gateway.tests.conftest import GatewayStack as Stack
from edge_gateway.tests.test_ws_e2e import (  # the e2e module's fixtures and helpers, one copy
    Client,
    api as api,
    bearer,
    connect as connect,
    private_room,
    register,
    signed_in,
    stored_messages,
    ws_stack as ws_stack,
)

pytestmark = pytest.mark.mysql

INT64_OVER = 2**63


async def post(api: httpx.AsyncClient, user: Any, room: int, body: str, **extra: Any) -> httpx.Response:
    """POST a message as user, with a fresh client_msg_id."""
    payload = {"client_msg_id": f"rest-{uuid.uuid4().hex[:12]}", "body": body, **extra}
    return await api.post(f"/rooms/{room}/messages", json=payload, headers=bearer(user))


async def test_replies_update_the_roots_summary_live_on_both_sockets(api: httpx.AsyncClient, connect: Any) -> None:
    """Two users reply in a thread (WS and REST) and both sockets see each reply and the root's new summary."""
    alice, bob = await register(api, "alice"), await register(api, "bob")
    room = await private_room(api, alice, bob)
    a, b = await signed_in(connect, alice), await signed_in(connect, bob)
    root = (await post(api, alice, room, "a question")).json()["message"]["seq"]
    await b.send(type="send", ref="r1", room_id=room, client_msg_id="r1", body="an answer", thread_root_seq=root)
    ack = await b.expect("send_ack", ref="r1")
    assert ack["message"]["thread_root_seq"] == root and ack["message"]["also_in_room"] is False
    for client in (a, b):
        update = await client.seen("thread_updated", room_id=room, root_seq=root)  # may come before the ack
        assert update["thread"]["reply_count"] == 1 and update["thread"]["participant_ids"] == [bob.id]
        assert update["change"] == ack["message"]["change"] + 1
    sent = await post(api, alice, room, "and another", thread_root_seq=root, also_in_room=True)
    assert sent.status_code == 201, sent.text
    for client in (a, b):
        update = await client.expect("thread_updated", room_id=room, root_seq=root)
        assert update["thread"]["participant_ids"] == [alice.id, bob.id]
        assert update["thread"]["last_reply_seq"] == sent.json()["message"]["seq"]


async def test_history_reads_a_thread_or_the_main_timeline(api: httpx.AsyncClient) -> None:
    """GET messages?thread= is the root and its replies; without it, the replies not sent to the room are left out."""
    alice = await register(api, "alice")
    room = await private_room(api, alice)
    root = (await post(api, alice, room, "root")).json()["message"]["seq"]
    only = (await post(api, alice, room, "in the thread", thread_root_seq=root)).json()["message"]["seq"]
    both = (await post(api, alice, room, "in both", thread_root_seq=root, also_in_room=True)).json()["message"]["seq"]
    thread = (await api.get(f"/rooms/{room}/messages", params={"thread": root}, headers=bearer(alice))).json()
    timeline = (await api.get(f"/rooms/{room}/messages", headers=bearer(alice))).json()
    assert [m["seq"] for m in thread["messages"]] == [root, only, both]
    assert [m["seq"] for m in timeline["messages"]] == [root, both]
    assert timeline["messages"][0]["thread"]["reply_count"] == 2


async def test_bad_roots_get_clear_errors_and_change_nothing(
    api: httpx.AsyncClient, connect: Any, ws_stack: Stack
) -> None:
    """A reply to a missing seq, to another room's seq, or to a negative or too large seq is refused; nothing stored."""
    alice = await register(api, "alice")
    room, other = await private_room(api, alice), await private_room(api, alice)
    await post(api, alice, room, "one")
    for _ in range(3):
        await post(api, alice, other, "elsewhere")
    a: Client = await signed_in(connect, alice)
    for ref, root in (("missing", 2), ("other-room", 3)):
        await a.send(type="send", ref=ref, room_id=room, client_msg_id=ref, body="x", thread_root_seq=root)
        error = await a.expect("error", ref=ref)
        assert error["code"] == "not_found" and error["message"] == f"room {room} has no message {root}"
        refused = await post(api, alice, room, "x", thread_root_seq=root)
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    for ref, root in (("negative", -1), ("too-large", INT64_OVER)):
        await a.send(type="send", ref=ref, room_id=room, client_msg_id=ref, body="x", thread_root_seq=root)
        assert (await a.expect("error", ref=ref))["code"] == "invalid_argument"
        assert (await post(api, alice, room, "x", thread_root_seq=root)).status_code == 422
    await a.send(type="send", ref="alone", room_id=room, client_msg_id="alone", body="x", also_in_room=True)
    assert (await a.expect("error", ref="alone"))["code"] == "invalid_argument"
    missing = await api.get(f"/rooms/{room}/messages", params={"thread": 9}, headers=bearer(alice))
    assert missing.status_code == 404
    assert stored_messages(ws_stack, room) == [(1, "one")]


async def test_a_mention_is_stored_counted_and_cleared_by_the_read_marker(api: httpx.AsyncClient, connect: Any) -> None:
    """@username (any case) and @room are kept on the message, counted for the member, and a read clears the count."""
    alice, bob = await register(api, "alice"), await register(api, "bob")
    room = await private_room(api, alice, bob)
    b = await signed_in(connect, bob)
    sent = (await post(api, alice, room, f"hi @{bob.username.upper()}, and @room")).json()["message"]
    assert sent["mentioned_user_ids"] == [bob.id] and sent["mentions_room"] is True
    seen = await b.expect("message", room_id=room)
    assert seen["message"]["mentioned_user_ids"] == [bob.id]
    await post(api, alice, room, f"mail {bob.username}@example.com")  # an address mentions nobody
    reply = await post(api, alice, room, f"@{bob.username} in a thread", thread_root_seq=sent["seq"])
    assert reply.json()["message"]["mentioned_user_ids"] == [bob.id]
    mine = {r["room"]["id"]: r for r in (await api.get("/rooms", headers=bearer(bob))).json()["rooms"]}[room]
    assert (mine["unread_count"], mine["mention_count"]) == (2, 2)  # the reply counts as a mention only
    await b.send(type="read", ref="rd", room_id=room, seq=reply.json()["message"]["seq"])
    ack = await b.expect("read_ack", ref="rd")
    assert (ack["unread_count"], ack["mention_count"]) == (0, 0)


async def test_a_muted_room_still_counts_mentions(api: httpx.AsyncClient, connect: Any) -> None:
    """Muting a room is stored for every device (member_settings) and its mentions are still counted."""
    alice, bob = await register(api, "alice"), await register(api, "bob")
    room = await private_room(api, alice, bob)
    other_device = await signed_in(connect, bob)
    muted = await api.put(f"/rooms/{room}/notifications", json={"level": "none"}, headers=bearer(bob))
    assert muted.status_code == 200 and muted.json() == {"level": "none"}
    assert (await other_device.expect("member_settings", room_id=room))["notification_level"] == "none"
    await post(api, alice, room, f"@{bob.username} are you there?")
    mine = {r["room"]["id"]: r for r in (await api.get("/rooms", headers=bearer(bob))).json()["rooms"]}[room]
    assert (mine["notification_level"], mine["mention_count"]) == ("none", 1)
    bad = await api.put(f"/rooms/{room}/notifications", json={"level": "loud"}, headers=bearer(bob))
    assert bad.status_code == 422
    back = await api.put(f"/rooms/{room}/notifications", json={"level": "default"}, headers=bearer(bob))
    assert back.json() == {"level": "mentions"}


async def test_a_non_member_can_neither_reply_nor_read_a_thread_nor_set_a_level(
    api: httpx.AsyncClient, connect: Any, ws_stack: Stack
) -> None:
    """Eve, outside the room, is refused (403) a reply, a thread's history and a notification level; nothing stored."""
    alice, eve = await register(api, "alice"), await register(api, "eve")
    room = await private_room(api, alice)
    root = (await post(api, alice, room, "members only")).json()["message"]["seq"]
    attempts = [
        post(api, eve, room, "let me in", thread_root_seq=root),
        api.get(f"/rooms/{room}/messages", params={"thread": root}, headers=bearer(eve)),
        api.put(f"/rooms/{room}/notifications", json={"level": "all"}, headers=bearer(eve)),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied", response.text
    e = await signed_in(connect, eve)
    await e.send(type="send", ref="x", room_id=room, client_msg_id="x", body="hi", thread_root_seq=root)
    assert (await e.expect("error", ref="x"))["code"] == "permission_denied"
    assert stored_messages(ws_stack, room) == [(1, "members only")]
