"""The WebSocket end to end: real gateway, auth_svc and chat_svc processes on MySQL, plain clients."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import jwt
import orjson
import pytest
import websockets
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text

from auth_svc.keys import Keyring
from edge_gateway.tests.conftest import GATEWAY_SECRET, GatewayStack as Stack
from edge_gateway.ws.frames import SERVER_FRAME
from parley.auth.v1 import auth_pb2, auth_pb2_grpc
from parley.chat.v1 import chat_pb2 as pb, chat_pb2_grpc
from tests.support.stack import GATEWAY

pytestmark = pytest.mark.mysql

PASSWORD = "correct horse battery"
# replay_started needs a room more than CHAT_REPLAY_MAX_MESSAGES behind: chat_svc's test_resume.py and
# test_ws_frames.py check it against its model.
SERVER_FRAME_TYPES = set(SERVER_FRAME.json_schema()["discriminator"]["mapping"]) - {"replay_started"}


def check_against_model(frame: dict[str, Any]) -> None:
    """Fail unless a frame from the server is exactly what edge_gateway/ws/frames.py's ServerFrame says."""
    model = SERVER_FRAME.validate_python(frame)
    assert SERVER_FRAME.dump_python(model, mode="json", exclude_unset=True) == frame  # no extra or reshaped fields


@pytest.fixture
def ws_stack(stack: Stack) -> Stack:
    """The session's running gateway, auth_svc and chat_svc (from conftest's stack)."""
    return stack


@dataclass
class User:
    """A registered user and their token."""

    id: int
    username: str
    token: str


class Client:
    """A plain WebSocket client that reads frames as dicts."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    async def send(self, **frame: Any) -> None:
        """Send one frame."""
        await self.ws.send(orjson.dumps(frame).decode())

    async def next(self, wait_s: float = 5.0) -> dict[str, Any]:
        """The next frame, checked against the frame models."""
        frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(self.ws.recv(), wait_s))
        check_against_model(frame)
        self.frames.append(frame)
        return frame

    async def expect(self, kind: str, wait_s: float = 5.0, **match: Any) -> dict[str, Any]:
        """Read until a frame of this type (with these top-level values) arrives."""
        deadline = time.monotonic() + wait_s
        while True:
            frame = await self.next(max(0.01, deadline - time.monotonic()))
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def seen(self, kind: str, wait_s: float = 5.0, **match: Any) -> dict[str, Any]:
        """A frame of this type (with these top-level values) read before, or else the next such frame."""
        for frame in self.frames:
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame
        return await self.expect(kind, wait_s, **match)

    async def quiet(self, seconds: float = 0.5) -> list[dict[str, Any]]:
        """Every frame that arrives within seconds."""
        got: list[dict[str, Any]] = []
        try:
            while True:
                got.append(await self.next(seconds))
        except TimeoutError:
            return got


@pytest.fixture
async def api(ws_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the gateway's REST API."""
    async with httpx.AsyncClient(base_url=f"{ws_stack.gateway_url}/api/v1", timeout=10) as client:
        yield client


async def register(api: httpx.AsyncClient, prefix: str) -> User:
    """A new user with a unique name."""
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    response = await api.post("/auth/register", json={"username": name, "password": PASSWORD})
    assert response.status_code == 201, response.text
    body = response.json()
    return User(body["user"]["id"], name, body["session"]["access_token"])


def bearer(user: User) -> dict[str, str]:
    """The Authorization header of a user."""
    return {"Authorization": f"Bearer {user.token}"}


async def private_room(api: httpx.AsyncClient, owner: User, *members: User) -> int:
    """A private room of owner with members (each accepts their invitation)."""
    response = await api.post(
        "/rooms",
        json={"kind": "private", "name": "ws test", "member_ids": [m.id for m in members]},
        headers=bearer(owner),
    )
    assert response.status_code == 201, response.text
    room_id: int = response.json()["id"]
    for member in members:
        accepted = await api.post(f"/invitations/{room_id}/accept", headers=bearer(member))
        assert accepted.status_code == 200, accepted.text
    return room_id


@pytest.fixture
async def connect(ws_stack: Stack) -> AsyncIterator[Any]:
    """Factory: a signed-in Client (after ready and caught_up), closed at the end."""
    opened: list[Any] = []

    async def open_client(user: User | None, token: str | None = None, **auth: Any) -> Client:
        ws = await websockets.connect(ws_stack.ws_url)
        opened.append(ws)
        client = Client(ws)
        await client.send(type="auth", token=token or (user.token if user else ""), **auth)
        return client

    yield open_client
    for ws in opened:
        await ws.close()


async def signed_in(connect: Any, user: User, **auth: Any) -> Client:
    """A client past ready and caught_up."""
    client: Client = await connect(user, **auth)
    await client.expect("ready")
    await client.expect("caught_up")
    return client


def stored_messages(ws_stack: Stack, room_id: int) -> list[tuple[int, str]]:
    """(seq, body) of every stored message of a room, straight from chat_db."""
    engine = create_engine(ws_stack.chat_db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT seq, body FROM messages WHERE room_id = :r ORDER BY seq"), {"r": room_id}
            ).all()
    finally:
        engine.dispose()
    return [(int(seq), str(body)) for seq, body in rows]


async def test_two_users_chat_in_real_time(api: httpx.AsyncClient, connect: Any) -> None:
    """A message sent by one socket is acked with its seq and reaches the other user's socket."""
    alice, bob = await register(api, "alice"), await register(api, "bob")
    room = await private_room(api, alice, bob)
    a, b = await signed_in(connect, alice), await signed_in(connect, bob)
    await a.send(type="send", ref="s1", room_id=room, client_msg_id="m1", body="hello bob")
    ack = await a.expect("send_ack", ref="s1")
    got = await b.expect("message", room_id=room)
    assert ack["message"]["seq"] == got["message"]["seq"] == 1
    assert got["message"]["body"] == "hello bob" and got["message"]["sender_id"] == alice.id
    await b.send(type="send", ref="s2", room_id=room, client_msg_id="m2", body="hi alice")
    back = await a.expect("message", room_id=room)
    assert back["message"]["seq"] == 2 and back["message"]["body"] == "hi alice"


async def test_every_server_frame_type_goes_out_as_its_model_says(api: httpx.AsyncClient, connect: Any) -> None:
    """A tour of the protocol sends every ServerFrame type, each one matching its model (checked in Client.next)."""
    alice, bob = await register(api, "alice"), await register(api, "bob")
    a, b = await signed_in(connect, alice), await signed_in(connect, bob)
    room = await private_room(api, alice, bob)  # member_joined, room_updated; bob comes online in it: presence
    await b.seen("invitation", room_id=room)  # bob was invited, then accepted
    await a.seen("presence", room_id=room, user_id=bob.id)
    await a.seen("room_updated", room_id=room)
    await a.send(type="send", ref="s", room_id=room, client_msg_id="tour", body="hello")
    seq = (await a.seen("send_ack", ref="s"))["message"]["seq"]
    await a.seen("message", room_id=room)
    edited = await api.patch(f"/rooms/{room}/messages/{seq}", json={"body": "hello!"}, headers=bearer(alice))
    assert edited.status_code == 200, edited.text
    await a.seen("message_edited", room_id=room)
    deleted = await api.delete(f"/rooms/{room}/messages/{seq}", headers=bearer(alice))
    assert deleted.status_code == 200, deleted.text
    await a.seen("message_deleted", room_id=room)
    await a.send(type="typing", ref="t", room_id=room)
    await a.seen("typing_ack", ref="t")
    await b.seen("typing", room_id=room, user_id=alice.id)
    await b.send(type="read", ref="r", room_id=room, seq=seq)  # alice's message: her own marker is past it
    await b.seen("read_ack", ref="r", room_id=room, last_read_seq=seq)
    await b.seen("read_marker", room_id=room)
    # -- threads and mentions: a reply to the tombstone, a notification level --
    await a.send(type="send", ref="th", room_id=room, client_msg_id="tour-reply", body="re", thread_root_seq=seq)
    await a.seen("thread_updated", room_id=room)
    level = await api.put(f"/rooms/{room}/notifications", json={"level": "none"}, headers=bearer(alice))
    assert level.status_code == 200, level.text
    await a.seen("member_settings", room_id=room)
    await a.send(type="ping", ref="p")
    await a.seen("pong", ref="p")
    await a.send(type="reauth", ref="re", token=alice.token)
    await a.seen("reauth_ack", ref="re")
    await a.send(type="read", ref="bad", room_id=room, seq=-1)
    await a.seen("error", ref="bad")
    # reactions and moderation: react_ack and reaction live, role_changed, and message_updated on resume
    await a.send(type="send", ref="s2", room_id=room, client_msg_id="tour-2", body="react to me")
    second = (await a.seen("send_ack", ref="s2"))["message"]
    await a.send(type="react", ref="re1", room_id=room, seq=second["seq"], emoji="👍", add=True)
    await a.seen("react_ack", ref="re1")
    await b.seen("reaction", room_id=room, seq=second["seq"])
    role = await api.put(f"/rooms/{room}/members/{bob.id}/role", json={"role": "moderator"}, headers=bearer(alice))
    assert role.status_code == 200, role.text
    await b.seen("role_changed", room_id=room)
    resumed = await connect(
        bob, cursors=[{"room_id": room, "after_seq": second["seq"], "after_change": second["change"]}]
    )
    await resumed.expect("message_updated", room_id=room)
    b.frames += resumed.frames
    left = await api.post(f"/rooms/{room}/leave", headers=bearer(bob))
    assert left.status_code == 204, left.text
    await a.seen("member_left", room_id=room, user_id=bob.id)
    assert {frame["type"] for frame in a.frames + b.frames} == SERVER_FRAME_TYPES


async def test_non_member_neither_receives_nor_posts(api: httpx.AsyncClient, connect: Any, ws_stack: Stack) -> None:
    """A user outside a private room gets none of its messages and cannot post to it."""
    alice, bob, eve = await register(api, "alice"), await register(api, "bob"), await register(api, "eve")
    room = await private_room(api, alice, bob)
    e = await signed_in(connect, eve)
    a = await signed_in(connect, alice)
    await a.send(type="send", ref="s", room_id=room, client_msg_id="secret", body="for bob only")
    await a.expect("send_ack", ref="s")
    await e.send(type="send", ref="x", room_id=room, client_msg_id="intrude", body="let me in")
    error = await e.expect("error", ref="x")
    assert error["code"] == "permission_denied"
    assert all(f.get("room_id") != room for f in e.frames + await e.quiet(0.5) if f["type"] != "error")
    assert stored_messages(ws_stack, room) == [(1, "for bob only")]


async def test_reconnect_with_last_seq_gets_exactly_the_missed_messages(
    api: httpx.AsyncClient, connect: Any, ws_stack: Stack
) -> None:
    """After a disconnect, resuming from the last seq delivers the missed messages once, in order, then live."""
    alice, bob = await register(api, "alice"), await register(api, "bob")
    room = await private_room(api, alice, bob)
    a, b = await signed_in(connect, alice), await signed_in(connect, bob)
    for i in range(1, 4):
        await a.send(type="send", ref=f"r{i}", room_id=room, client_msg_id=f"before-{i}", body=f"before {i}")
        await b.expect("message", room_id=room)
    last_seen = 3
    await b.ws.close()
    for i in range(1, 21):
        await a.send(type="send", ref=f"m{i}", room_id=room, client_msg_id=f"missed-{i}", body=f"missed {i}")
        await a.expect("send_ack", ref=f"m{i}")
    b2: Client = await connect(bob, cursors=[{"room_id": room, "after_seq": last_seen}])
    await b2.expect("ready")
    replayed = []
    while (frame := await b2.next())["type"] != "caught_up":
        if frame["type"] == "message":
            replayed.append(frame["message"]["seq"])
    assert replayed == list(range(4, 24))
    await a.send(type="send", ref="live", room_id=room, client_msg_id="live", body="live again")
    live = await b2.expect("message", room_id=room)
    assert live["message"]["seq"] == 24
    later = [f["message"]["seq"] for f in await b2.quiet(0.5) if f["type"] == "message"]
    assert later == []
    assert [seq for seq, _ in stored_messages(ws_stack, room)] == list(range(1, 25))


async def test_retried_send_returns_the_original(api: httpx.AsyncClient, connect: Any, ws_stack: Stack) -> None:
    """Sending again with the same client_msg_id acks the original message as a duplicate."""
    alice = await register(api, "alice")
    room = await private_room(api, alice)
    a = await signed_in(connect, alice)
    await a.send(type="send", ref="1", room_id=room, client_msg_id="once", body="only once")
    first = await a.expect("send_ack", ref="1")
    await a.send(type="send", ref="2", room_id=room, client_msg_id="once", body="only once")
    second = await a.expect("send_ack", ref="2")
    assert second["duplicate"] is True and second["message"]["seq"] == first["message"]["seq"]
    assert stored_messages(ws_stack, room) == [(1, "only once")]


async def test_typing_and_presence_reach_the_other_user(api: httpx.AsyncClient, connect: Any) -> None:
    """Bob sees alice come online, type, and go offline."""
    alice, bob = await register(api, "alice"), await register(api, "bob")
    room = await private_room(api, alice, bob)
    b = await signed_in(connect, bob)
    a = await signed_in(connect, alice)
    online = await b.expect("presence", room_id=room, user_id=alice.id)
    assert online["online"] is True
    presence = await api.get(f"/rooms/{room}/presence", headers=bearer(bob))
    assert sorted(presence.json()["online"]) == sorted([alice.id, bob.id])
    await a.send(type="typing", room_id=room)
    typing = await b.expect("typing", room_id=room)
    assert typing["user_id"] == alice.id and typing["expires_at"]
    await a.ws.close()
    offline = await b.expect("presence", room_id=room, user_id=alice.id)
    assert offline["online"] is False


async def test_room_joined_after_connecting_is_delivered(api: httpx.AsyncClient, connect: Any) -> None:
    """An invitation arrives live; accepting it while connected starts that room's events on the open socket."""
    alice, bob = await register(api, "alice"), await register(api, "bob")
    room = await private_room(api, alice)
    b = await signed_in(connect, bob)
    invited = await api.post(f"/rooms/{room}/members", json={"user_id": bob.id}, headers=bearer(alice))
    assert invited.status_code == 201, invited.text
    offered = await b.expect("invitation", room_id=room)
    assert (offered["state"], offered["invitation"]["inviter_id"]) == ("pending", alice.id)
    accepted = await api.post(f"/invitations/{room}/accept", headers=bearer(bob))
    assert accepted.status_code == 200, accepted.text
    assert (await b.expect("invitation", room_id=room))["state"] == "accepted"
    await b.expect("member_joined", room_id=room)
    sent = await api.post(
        f"/rooms/{room}/messages", json={"client_msg_id": "welcome", "body": "welcome bob"}, headers=bearer(alice)
    )
    assert sent.status_code == 201
    got = await b.expect("message", room_id=room)
    assert got["message"]["body"] == "welcome bob"


@pytest.mark.parametrize(
    ("raw", "code", "fragment"),
    [
        ("{not json", "invalid_argument", "not valid JSON"),
        ('{"type":"dance"}', "invalid_argument", "unknown frame type"),
        ("ROOM_BODY_TOO_LONG", "invalid_argument", "the limit is 4000"),
        ("ROOM_BODY_EMPTY", "invalid_argument", "must not be empty"),
        ('{"type":"send","room_id":987654,"client_msg_id":"z","body":"hi"}', "not_found", "does not exist"),
        ("HUGE_FRAME", "invalid_argument", "bytes; the limit is"),
    ],
)
async def test_bad_frames_get_errors_and_change_nothing(
    api: httpx.AsyncClient, connect: Any, ws_stack: Stack, raw: str, code: str, fragment: str
) -> None:
    """Each bad frame gets a clear error frame; the socket still works and nothing is stored."""
    alice = await register(api, "alice")
    room = await private_room(api, alice)
    a = await signed_in(connect, alice)
    frames = {
        "ROOM_BODY_TOO_LONG": orjson.dumps(
            {"type": "send", "room_id": room, "client_msg_id": "long", "body": "x" * 4001}
        ).decode(),
        "ROOM_BODY_EMPTY": orjson.dumps({"type": "send", "room_id": room, "client_msg_id": "e", "body": "  "}).decode(),
        "HUGE_FRAME": orjson.dumps(
            {"type": "send", "room_id": room, "client_msg_id": "h", "body": "x" * 70_000}
        ).decode(),
    }
    await a.ws.send(frames.get(raw, raw))
    error = await a.expect("error")
    assert error["code"] == code and fragment in error["message"]
    assert stored_messages(ws_stack, room) == []
    await a.send(type="send", ref="ok", room_id=room, client_msg_id="after", body="still here")
    assert (await a.expect("send_ack", ref="ok"))["message"]["seq"] == 1


BEYOND_INT64 = 2**63  # one above the largest id or seq: over the wire only as JSON text (orjson writes 64 bits)


@pytest.mark.parametrize(
    "frame",
    [
        '{"type":"send","ref":"big","room_id":ROOM_ID,"client_msg_id":"b","body":"hi"}',
        '{"type":"send","ref":"big","room_id":ROOM,"client_msg_id":"b","body":"hi","thread_root_seq":SEQ}',
        '{"type":"typing","ref":"big","room_id":ROOM_ID}',
        '{"type":"read","ref":"big","room_id":ROOM_ID,"seq":1}',
        '{"type":"read","ref":"big","room_id":ROOM,"seq":SEQ}',
        '{"type":"react","ref":"big","room_id":ROOM,"seq":SEQ,"emoji":"x","add":true}',
        '{"type":"read","ref":"big","room_id":ROOM,"seq":true}',
        '{"type":"read","ref":"big","room_id":ROOM,"seq":-1}',
        '{"type":"read","ref":"big","room_id":ROOM,"seq":18446744073709551616}',
    ],
    ids=["send.room_id", "send.root", "typing", "read.room_id", "read.seq", "react.seq", "bool", "-1", "2^64"],
)
async def test_an_integer_beyond_int64_gets_an_error_frame_and_the_socket_stays(
    api: httpx.AsyncClient, connect: Any, ws_stack: Stack, frame: str
) -> None:
    """A frame with an id or seq of 2^63 (or a bool, -1, 2^64) gets invalid_argument with its ref, not 1011 or none."""
    alice = await register(api, "alice")
    room = await private_room(api, alice)
    a = await signed_in(connect, alice)
    logged = len(ws_stack.gateway.lines)
    raw = frame.replace("ROOM_ID", str(BEYOND_INT64)).replace("ROOM", str(room)).replace("SEQ", str(BEYOND_INT64))
    await a.ws.send(raw)
    error = await a.expect("error")
    assert error["code"] == "invalid_argument" and error["ref"] == "big"
    await a.send(type="ping", ref="still")
    await a.expect("pong", ref="still")
    assert stored_messages(ws_stack, room) == []
    assert ws_stack.gateway.errors_since(logged) == []


async def test_a_cursor_beyond_int64_is_refused_as_a_bad_auth_frame(connect: Any, ws_stack: Stack) -> None:
    """An auth frame whose cursor is at 2^63 is refused like any malformed auth frame (4001), not with 1011."""
    ws = await websockets.connect(ws_stack.ws_url)
    try:
        await ws.send(f'{{"type":"auth","token":"t","cursors":[{{"room_id":1,"after_seq":{BEYOND_INT64}}}]}}')
        error = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert error["code"] == "unauthenticated" and "after_seq" in error["message"]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    finally:
        await ws.close()


async def test_forged_token_is_refused_with_4001(connect: Any, ws_stack: Stack) -> None:
    """A token with the real key id but signed by another key closes the socket with 4001."""
    now = int(time.time())
    claims = {"iss": "parley-auth", "aud": "parley", "sub": "1", "sid": "s", "iat": now, "exp": now + 300}
    kid = Keyring.load(ws_stack.keys_dir).active.key_id
    forged = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid})
    client: Client = await connect(None, token=forged)
    error = await client.expect("error")
    assert error["code"] == "unauthenticated"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await client.next()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


async def test_expired_token_is_refused_with_4003(connect: Any, ws_stack: Stack) -> None:
    """An expired access token closes the socket with 4003 (refresh and reconnect)."""
    keyring = Keyring.load(ws_stack.keys_dir)
    now = int(time.time())
    token = keyring.sign(
        {"iss": "parley-auth", "aud": "parley", "sub": "1", "sid": "s", "iat": now - 600, "exp": now - 300}
    )
    client: Client = await connect(None, token=token)
    error = await client.expect("error")
    assert error["code"] == "unauthenticated" and "expired" in error["message"]
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await client.next()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003


async def test_socket_closes_when_its_token_expires(api: httpx.AsyncClient, connect: Any, ws_stack: Stack) -> None:
    """A signed-in socket is closed with 4003 when its access token's time is up."""
    alice = await register(api, "alice")
    now = int(time.time())
    short = Keyring.load(ws_stack.keys_dir).sign(
        {"iss": "parley-auth", "aud": "parley", "sub": str(alice.id), "sid": "s", "iat": now, "exp": now + 2}
    )
    client = await signed_in(connect, alice, token=short)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await client.expect("never-sent", wait_s=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003


async def test_reauth_keeps_the_socket_open(api: httpx.AsyncClient, connect: Any, ws_stack: Stack) -> None:
    """Swapping in a fresh token of the same user before expiry keeps the socket alive."""
    alice = await register(api, "alice")
    now = int(time.time())
    keyring = Keyring.load(ws_stack.keys_dir)
    base = {"iss": "parley-auth", "aud": "parley", "sub": str(alice.id), "sid": "s", "iat": now}
    client = await signed_in(connect, alice, token=keyring.sign({**base, "exp": now + 2}))
    await client.send(type="reauth", ref="re", token=keyring.sign({**base, "exp": now + 600}))
    await client.expect("reauth_ack", ref="re")
    await asyncio.sleep(2.5)
    await client.send(type="ping", ref="still")
    assert (await client.expect("pong", ref="still"))["ref"] == "still"


async def test_missing_auth_frame_is_refused(connect: Any, ws_stack: Stack) -> None:
    """A first frame that is not auth closes the socket with 4001."""
    ws = await websockets.connect(ws_stack.ws_url)
    try:
        await ws.send('{"type":"ping"}')
        error = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert error["code"] == "unauthenticated"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    finally:
        await ws.close()


async def test_logout_closes_the_sessions_sockets_with_4004(api: httpx.AsyncClient, connect: Any) -> None:
    """Signing out through the gateway closes that session's open sockets with 4004."""
    name = f"leaver{uuid.uuid4().hex[:8]}"
    registered = (await api.post("/auth/register", json={"username": name, "password": PASSWORD})).json()
    user = User(registered["user"]["id"], name, registered["session"]["access_token"])
    client = await signed_in(connect, user)
    response = await api.post("/auth/logout", json={"refresh_token": registered["session"]["refresh_token"]})
    assert response.status_code == 204
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await client.expect("never-sent", wait_s=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4004


async def test_pipelined_sends_are_stored_in_frame_order_and_each_acked(
    ws_stack: Stack, api: httpx.AsyncClient, connect: Any
) -> None:
    """50 sends written without waiting (one of them invalid): all answered by ref, stored in order."""
    alice = await register(api, "pipe")
    room_id = await private_room(api, alice)
    client = await signed_in(connect, alice)
    for n in range(50):
        body = "" if n == 25 else f"p{n}"  # an empty body is refused; the others go on
        await client.send(type="send", ref=f"r{n}", room_id=room_id, client_msg_id=f"pipe-{n}", body=body)
    answers: dict[str, dict[str, Any]] = {}
    while len(answers) < 50:
        frame = await client.next()
        if frame["type"] in ("send_ack", "error") and str(frame.get("ref", "")).startswith("r"):
            answers[frame["ref"]] = frame
    assert answers["r25"]["type"] == "error" and answers["r25"]["code"] == "invalid_argument"
    acked = [answers[f"r{n}"]["message"]["seq"] for n in range(50) if n != 25]
    assert acked == list(range(1, 50))  # frame order is seq order
    assert [body for _, body in stored_messages(ws_stack, room_id)] == [f"p{n}" for n in range(50) if n != 25]


async def test_send_stream_needs_a_service_token_and_checks_each_users_token(
    ws_stack: Stack, api: httpx.AsyncClient
) -> None:
    """SendMessages: a user may not open it; each item is authenticated as its own user."""
    alice = await register(api, "strm")
    room_id = await private_room(api, alice)
    async with grpc.aio.insecure_channel(ws_stack.auth_address) as auth_channel:
        service = await auth_pb2_grpc.AuthServiceStub(auth_channel).IssueServiceToken(
            auth_pb2.IssueServiceTokenRequest(client_id="edge_gateway", client_secret=GATEWAY_SECRET)
        )
    item = pb.SendItem(
        ref=1,
        access_token=alice.token,
        send=pb.SendMessageRequest(room_id=room_id, client_msg_id="s-1", body="over the stream"),
    )
    forged = pb.SendItem(ref=2, access_token=alice.token[:-4] + "AAAA", send=item.send)
    async with grpc.aio.insecure_channel(ws_stack.chat_address) as channel:
        chat = chat_pb2_grpc.ChatServiceStub(channel)

        # A user token: refused before anything is written (writing into a call the server has
        # already ended can surface as INTERNAL on the client instead of the server's status).
        refused = chat.SendMessages(metadata=(("authorization", f"Bearer {alice.token}"),))  # type: ignore[call-arg]
        assert await refused.code() == grpc.StatusCode.PERMISSION_DENIED
        call = chat.SendMessages(metadata=(("authorization", f"Bearer {service.access_token}"),))  # type: ignore[call-arg]
        await call.write(pb.SendMessagesRequest(items=[item, forged]))
        await call.done_writing()
        outcomes = {o.ref: o async for response in call for o in response.outcomes}
    assert outcomes[1].error_code == 0 and outcomes[1].sent.message.seq == 1
    assert outcomes[1].sent.message.sender_id == alice.id
    assert outcomes[2].error_code == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert [body for _, body in stored_messages(ws_stack, room_id)] == ["over the stream"]


async def test_ready_is_bounded_and_every_room_still_delivers(api: httpx.AsyncClient, ws_stack: Stack) -> None:
    """With GATEWAY_WS_READY_ROOMS=2, ready carries 2 of 5 rooms and more_rooms; the rooms past it still deliver."""
    gateway = await asyncio.to_thread(ws_stack.start, GATEWAY, {"GATEWAY_WS_READY_ROOMS": "2"})
    try:
        alice, bob = await register(api, "alice"), await register(api, "bob")
        rooms = [await private_room(api, alice, bob) for _ in range(5)]
        async with websockets.connect(f"ws://127.0.0.1:{gateway.port}/api/v1/ws") as ws:
            client = Client(ws)
            await client.send(type="auth", token=bob.token)
            ready = await client.expect("ready")
            assert ([r["room"]["id"] for r in ready["rooms"]], ready["more_rooms"]) == (rooms[:2], True)
            await client.expect("caught_up")
            for room in (rooms[2], rooms[4]):
                body = {"client_msg_id": f"far-{room}", "body": "past the first page"}
                sent = await api.post(f"/rooms/{room}/messages", json=body, headers=bearer(alice))
                assert sent.status_code == 201, sent.text
                assert (await client.expect("message", room_id=room))["message"]["body"] == "past the first page"
    finally:
        ws_stack.processes[GATEWAY].remove(gateway)
        await asyncio.to_thread(gateway.stop)


async def test_a_socket_from_another_origin_is_refused(ws_stack: Stack) -> None:
    """A browser handshake whose Origin is not a CORS origin gets 403 and never opens."""
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(ws_stack.ws_url, origin="https://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("origin", ["http://localhost:3000", None], ids=["cors-origin", "no-origin"])
async def test_a_socket_from_the_web_app_or_a_non_browser_opens(ws_stack: Stack, origin: str | None) -> None:
    """A handshake from a CORS origin (the stack's default) or without an Origin (a bot, a CLI) opens."""
    ws = await websockets.connect(ws_stack.ws_url, origin=origin)  # type: ignore[arg-type]
    try:
        await ws.send('{"type":"ping"}')  # not signed in: refused as such, so the socket was open
        assert orjson.loads(await asyncio.wait_for(ws.recv(), 5))["code"] == "unauthenticated"
    finally:
        await ws.close()


async def _signed_out(api: httpx.AsyncClient, prefix: str) -> tuple[User, dict[str, Any]]:
    """A user with two sessions, the first of them signed out: (the user on the ended one, the live session)."""
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    first = (await api.post("/auth/register", json={"username": name, "password": PASSWORD})).json()
    second = (await api.post("/auth/login", json={"username": name, "password": PASSWORD})).json()["session"]
    assert (
        await api.post("/auth/logout", json={"refresh_token": first["session"]["refresh_token"]})
    ).status_code == 204
    return User(first["user"]["id"], name, first["session"]["access_token"]), second


async def test_a_new_socket_with_an_ended_sessions_token_is_refused(api: httpx.AsyncClient, connect: Any) -> None:
    """After logout, the session's unexpired access token cannot open a socket (4001)."""
    ended, _ = await _signed_out(api, "gone")
    client = await connect(ended)
    error = await client.expect("error")
    assert error["code"] == "unauthenticated" and "session has ended" in error["message"]
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await client.next()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


async def test_reauth_with_an_ended_sessions_token_is_refused(api: httpx.AsyncClient, connect: Any) -> None:
    """A socket of a live session cannot swap in the token of an ended one of the same user."""
    ended, live = await _signed_out(api, "swap")
    client = await signed_in(connect, ended, token=live["access_token"])
    await client.send(type="reauth", ref="re", token=ended.token)
    refused = await client.expect("error", ref="re")
    assert refused["code"] == "unauthenticated" and "session has ended" in refused["message"]


async def test_chat_svc_refuses_an_ended_sessions_token(api: httpx.AsyncClient, ws_stack: Stack) -> None:
    """A direct gRPC call to chat_svc with an ended session's token is UNAUTHENTICATED once chat_svc polled."""
    ended, _ = await _signed_out(api, "grpc")
    async with grpc.aio.insecure_channel(ws_stack.chat_address) as channel:
        chat = chat_pb2_grpc.ChatServiceStub(channel)
        metadata = (("authorization", f"Bearer {ended.token}"),)
        codes = []
        for _ in range(50):  # CHAT_REVOCATION_POLL_SECONDS (2 s) without a broker; tries 0.1 s apart
            try:
                await chat.ListMyRooms(pb.ListMyRoomsRequest(), metadata=metadata, timeout=5)
                codes.append(grpc.StatusCode.OK)
            except grpc.aio.AioRpcError as error:
                codes.append(error.code())
                break
            await asyncio.sleep(0.1)
    assert codes[-1] == grpc.StatusCode.UNAUTHENTICATED
