"""REST messages end to end: send, retry, history pages, edit, delete, read markers, typing, bad input."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from edge_gateway.tests.conftest import GatewayStack, NewUser

pytestmark = pytest.mark.mysql

Room = tuple[int, httpx.AsyncClient, httpx.AsyncClient]


@pytest.fixture
def shared_room(new_user: NewUser) -> Callable[[], Awaitable[Room]]:
    """Factory: a private room of a fresh alice with a fresh bob in it; (room id, alice, bob)."""

    async def make() -> Room:
        _, alice = await new_user("alice")
        bob, bob_client = await new_user("bob")
        response = await alice.post("/rooms", json={"kind": "private", "name": "talk", "member_ids": [bob["id"]]})
        assert response.status_code == 201, response.text
        accepted = await bob_client.post(f"/invitations/{response.json()['id']}/accept")
        assert accepted.status_code == 200, accepted.text
        return response.json()["id"], alice, bob_client

    return make


async def _post(client: httpx.AsyncClient, room: int, count: int, prefix: str = "m") -> list[dict[str, Any]]:
    sent = []
    for i in range(count):
        response = await client.post(f"/rooms/{room}/messages", json={"client_msg_id": f"{prefix}{i}", "body": f"#{i}"})
        assert response.status_code == 201, response.text
        sent.append(response.json()["message"])
    return sent


def _seqs(page: dict[str, Any]) -> list[int]:
    return [message["seq"] for message in page["messages"]]


def _error(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


async def test_send_answers_201_with_the_stored_message(shared_room: Callable[[], Awaitable[Room]]) -> None:
    """POST /rooms/{id}/messages answers 201, duplicate=false and the message with its seq."""
    room, alice, _ = await shared_room()
    response = await alice.post(f"/rooms/{room}/messages", json={"client_msg_id": "c1", "body": "hello"})
    assert response.status_code == 201
    body = response.json()
    assert body["duplicate"] is False
    message = body["message"]
    assert (message["room_id"], message["seq"], message["body"], message["edited_at"], message["deleted"]) == (
        room,
        1,
        "hello",
        None,
        False,
    )


async def test_retried_send_answers_200_with_the_original(
    shared_room: Callable[[], Awaitable[Room]], stack: GatewayStack
) -> None:
    """Resending with the same client_msg_id answers 200, duplicate=true and the same seq; one row is stored."""
    room, alice, _ = await shared_room()
    first = await alice.post(f"/rooms/{room}/messages", json={"client_msg_id": "retry-1", "body": "once"})
    again = await alice.post(f"/rooms/{room}/messages", json={"client_msg_id": "retry-1", "body": "once"})
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert again.json()["message"] == first.json()["message"]
    assert stack.stored_messages(room) == [(1, "once")]


async def test_history_without_a_cursor_is_the_newest_page(shared_room: Callable[[], Awaitable[Room]]) -> None:
    """GET messages with only a limit answers the newest messages, ascending, with has_more."""
    room, alice, _ = await shared_room()
    await _post(alice, room, 5)
    page = (await alice.get(f"/rooms/{room}/messages", params={"limit": 3})).json()
    assert (_seqs(page), page["has_more"]) == ([3, 4, 5], True)


async def test_paging_back_with_before_visits_every_message_once(shared_room: Callable[[], Awaitable[Room]]) -> None:
    """Walking history back with before=<oldest seq seen> yields every seq exactly once."""
    room, alice, _ = await shared_room()
    await _post(alice, room, 23)
    seen: list[int] = []
    params: dict[str, int] = {"limit": 5}
    while True:
        page = (await alice.get(f"/rooms/{room}/messages", params=params)).json()
        seen = _seqs(page) + seen
        if not page["has_more"]:
            break
        params = {"limit": 5, "before": seen[0]}
    assert seen == list(range(1, 24))


async def test_paging_forward_with_after_visits_every_message_once(shared_room: Callable[[], Awaitable[Room]]) -> None:
    """Walking history forward from after=0 with after=<newest seq seen> yields every seq exactly once."""
    room, alice, _ = await shared_room()
    await _post(alice, room, 23)
    seen: list[int] = []
    more = True
    while more:
        page = (
            await alice.get(f"/rooms/{room}/messages", params={"limit": 5, "after": seen[-1] if seen else 0})
        ).json()
        seen += _seqs(page)
        more = page["has_more"]
    assert seen == list(range(1, 24))


async def test_before_and_after_together_are_422(shared_room: Callable[[], Awaitable[Room]]) -> None:
    """Passing both before and after answers 422 in the error shape."""
    room, alice, _ = await shared_room()
    status, code, message = _error(await alice.get(f"/rooms/{room}/messages", params={"before": 5, "after": 1}))
    assert (status, code) == (422, "invalid_argument") and "before" in message and "after" in message


async def test_author_edits_a_message(shared_room: Callable[[], Awaitable[Room]]) -> None:
    """PATCH by the author answers the message with the new body and an edited_at time."""
    room, alice, _ = await shared_room()
    await _post(alice, room, 1)
    response = await alice.patch(f"/rooms/{room}/messages/1", json={"body": "fixed"})
    assert response.status_code == 200
    message = response.json()["message"]
    assert message["body"] == "fixed" and message["edited_at"] is not None and message["change"] == 2


async def test_others_cannot_edit_a_message(shared_room: Callable[[], Awaitable[Room]], stack: GatewayStack) -> None:
    """PATCH by another member answers 403 and leaves the message as it was."""
    room, alice, bob = await shared_room()
    await _post(alice, room, 1)
    assert _error(await bob.patch(f"/rooms/{room}/messages/1", json={"body": "mine now"}))[:2] == (
        403,
        "permission_denied",
    )
    assert stack.stored_messages(room) == [(1, "#0")]


async def test_author_deletes_and_history_keeps_a_tombstone(shared_room: Callable[[], Awaitable[Room]]) -> None:
    """DELETE answers the tombstone, and history shows it at the same seq with an empty body."""
    room, alice, bob = await shared_room()
    await _post(alice, room, 2)
    response = await alice.delete(f"/rooms/{room}/messages/1")
    assert response.status_code == 200
    tombstone = response.json()["message"]
    assert (tombstone["seq"], tombstone["deleted"], tombstone["body"]) == (1, True, "")
    history = (await bob.get(f"/rooms/{room}/messages")).json()["messages"]
    assert [(m["seq"], m["deleted"]) for m in history] == [(1, True), (2, False)]


async def test_others_cannot_delete_a_message(shared_room: Callable[[], Awaitable[Room]]) -> None:
    """DELETE by another member answers 403."""
    room, alice, bob = await shared_room()
    await _post(alice, room, 1)
    assert _error(await bob.delete(f"/rooms/{room}/messages/1"))[:2] == (403, "permission_denied")


async def test_mark_read_moves_the_unread_count(shared_room: Callable[[], Awaitable[Room]]) -> None:
    """Bob has 3 unread; marking seq 2 read answers 1 unread, and GET /rooms says the same."""
    room, alice, bob = await shared_room()
    await _post(alice, room, 3)
    before = (await bob.get("/rooms")).json()["rooms"][0]
    response = await bob.post(f"/rooms/{room}/read", json={"seq": 2})
    after = (await bob.get("/rooms")).json()["rooms"][0]
    assert (before["last_read_seq"], before["unread_count"]) == (0, 3)
    assert response.status_code == 200
    assert response.json() == {"last_read_seq": 2, "unread_count": 1, "mention_count": 0}
    assert (after["last_read_seq"], after["unread_count"]) == (2, 1)


async def test_typing_answers_when_it_expires(shared_room: Callable[[], Awaitable[Room]]) -> None:
    """POST /rooms/{id}/typing answers 200 with an expiry in the future."""
    room, _, bob = await shared_room()
    response = await bob.post(f"/rooms/{room}/typing")
    assert response.status_code == 200
    assert datetime.fromisoformat(response.json()["expires_at"]) > datetime.now(UTC)


async def test_malformed_json_is_422_and_nothing_is_stored(
    shared_room: Callable[[], Awaitable[Room]], stack: GatewayStack
) -> None:
    """A body that is not JSON answers 422 in the error shape and stores nothing."""
    room, alice, _ = await shared_room()
    response = await alice.post(
        f"/rooms/{room}/messages",
        content=b'{"client_msg_id": "x", "body": ',
        headers={"content-type": "application/json"},
    )
    assert _error(response)[:2] == (422, "invalid_argument")
    assert stack.stored_messages(room) == []


async def test_wrong_field_type_is_422(shared_room: Callable[[], Awaitable[Room]]) -> None:
    """A body field of the wrong type answers 422 naming the field."""
    room, alice, _ = await shared_room()
    response = await alice.post(f"/rooms/{room}/messages", json={"client_msg_id": 5, "body": "hi"})
    status, code, message = _error(response)
    assert (status, code) == (422, "invalid_argument") and message.startswith("client_msg_id:")


async def test_unknown_field_is_422(shared_room: Callable[[], Awaitable[Room]]) -> None:
    """A misspelt field is refused rather than silently dropped."""
    room, alice, _ = await shared_room()
    response = await alice.post(f"/rooms/{room}/messages", json={"client_msg_id": "x", "body": "hi", "bdy": "hi"})
    status, code, message = _error(response)
    assert (status, code) == (422, "invalid_argument") and "bdy" in message


async def test_oversized_body_is_400_and_nothing_is_stored(
    shared_room: Callable[[], Awaitable[Room]], stack: GatewayStack
) -> None:
    """A body over chat_svc's 4000-character limit answers 400 with the service's message; nothing is stored."""
    room, alice, _ = await shared_room()
    response = await alice.post(f"/rooms/{room}/messages", json={"client_msg_id": "big", "body": "x" * 4001})
    assert _error(response) == (400, "invalid_argument", "message body is 4001 characters; the limit is 4000")
    assert stack.stored_messages(room) == []


async def test_empty_body_is_400(shared_room: Callable[[], Awaitable[Room]], stack: GatewayStack) -> None:
    """An empty body answers 400 with the service's message; nothing is stored."""
    room, alice, _ = await shared_room()
    response = await alice.post(f"/rooms/{room}/messages", json={"client_msg_id": "empty", "body": ""})
    assert _error(response) == (400, "invalid_argument", "message body must not be empty")
    assert stack.stored_messages(room) == []
