"""Hypothesis over WebSocket frames against the real gateway: no 1011, no traceback, the socket stays, nothing changes.

Bounded and deterministic (derandomize, a fixed number of cases): raise FUZZ_WS_EXAMPLES to run longer
(docs/security.md, "Fuzzing"). One signed-in socket serves every case; only a frame over uvicorn's
size limit closes it (1009, documented), and then the next case opens another.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import time
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from edge_gateway.tests.conftest import GatewayStack
from edge_gateway.ws.protocol import FRAME_TYPES

pytestmark = pytest.mark.mysql

EXAMPLES = int(os.environ.get("FUZZ_WS_EXAMPLES", "300"))  # ~3 s; thousands when looking into it
TOO_BIG = 1 << 20  # uvicorn's ws_max_size with the default GATEWAY_WS_MAX_FRAME_BYTES (edge_gateway/__main__.py)
INTS = st.one_of(
    st.integers(),
    st.sampled_from([0, 1, -1, 2**63 - 1, 2**63, -(2**63), 2**64, 10**40]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
ODD_TEXT = st.sampled_from(["\x00", "\u202e", "\u200f", "😀", "𝕏" * 3, "\ufeff", "a\u0301", "\U0010ffff"])
TEXT = st.one_of(st.text(max_size=40), ODD_TEXT, st.integers(1, 200_000).map(lambda n: "x" * n))
JSON = st.recursive(
    st.none() | st.booleans() | INTS | TEXT, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner)
)
FIELDS = ("ref", "room_id", "seq", "thread_root_seq", "client_msg_id", "body", "token", "cursors", "emoji", "add")


SEND_PREFIX = '{"type":"send","ref":"s",'  # frames()'s "send" shape
SEND_ANSWERED = "send answered"  # Probe._until: the send's ack or its refusal


def _answers_send(frame: dict[str, Any]) -> bool:
    """The answer to a "send"-shaped case: its ack, or an error about it (one that failed to parse has no ref)."""
    return (frame.get("ref") == "s" and frame["type"] == "send_ack") or (
        frame["type"] == "error" and frame.get("ref") in ("s", None)
    )


@st.composite
def frames(draw: st.DrawFn) -> str | bytes:
    """A frame's data: random JSON, frame-shaped objects with wrong or extreme values, escapes, binary, huge."""
    shape = draw(st.sampled_from(["object", "send", "json", "escape", "binary", "huge"]))
    if shape == "send":  # into the test's room (ROOM), with random text: stored once, or refused
        msg_id, body = json.dumps(draw(TEXT)), json.dumps(draw(TEXT))
        return SEND_PREFIX + '"room_id":ROOM,"client_msg_id":' + msg_id + ',"body":' + body + "}"
    if shape == "object":
        frame: dict[str, Any] = {"type": draw(st.sampled_from([*FRAME_TYPES, "shout", "", "ACK"]) | TEXT)}
        for name in draw(st.lists(st.sampled_from(FIELDS), max_size=5, unique=True)):
            frame[name] = draw(JSON)
        return json.dumps(frame)  # json, not orjson: integers beyond 64 bits
    if shape == "json":
        return json.dumps(draw(JSON))
    if shape == "escape":  # lone surrogates and NUL written as JSON escapes
        escape = draw(st.sampled_from(["\\ud800", "\\udfff", "\\u0000", "\\ud83d\\ude00", "\\udc00\\ud800"]))
        return '{"type":"send","ref":"e","room_id":1,"client_msg_id":"' + escape + '","body":"' + escape + '"}'
    if shape == "binary":
        return draw(st.binary(max_size=64))
    return '{"type":"ping","ref":"' + "x" * draw(st.sampled_from([70_000, TOO_BIG + 10])) + '"}'


class Probe:
    """One signed-in socket, reopened when a case closed it legitimately."""

    def __init__(self, stack: GatewayStack, token: str, sockets: contextlib.ExitStack) -> None:
        self.stack, self.token, self.refs, self.sockets = stack, token, itertools.count(), sockets
        self.ws: ClientConnection | None = None
        self.acked: set[int] = set()  # seqs of the messages acked (a duplicate acks its original again)

    def socket(self) -> ClientConnection:
        """The open socket, signed in and caught up (a new one after a legitimate close)."""
        if self.ws is None:
            ws = self.sockets.enter_context(connect(self.stack.ws_url, max_size=None))
            ws.send(orjson.dumps({"type": "auth", "token": self.token}).decode())
            self.ws = ws  # only once signed in: a case never goes out as a socket's first frame
            self._until("caught_up")
        return self.ws

    def _until(self, kind: str, ref: str | None = None) -> None:
        assert self.ws is not None
        while True:
            frame = orjson.loads(self.ws.recv(timeout=10))
            if frame["type"] == "send_ack":
                self.acked.add(frame["message"]["seq"])
            if frame["type"] == kind and (ref is None or frame.get("ref") == ref):
                return
            if kind == SEND_ANSWERED and _answers_send(frame):
                return

    def case(self, data: str | bytes) -> None:
        """Send data, then a ping: the pong must come (or the socket closed with 1009 for a frame too big)."""
        ws = self.socket()
        ref = f"probe-{next(self.refs)}"
        try:
            ws.send(data)
            if isinstance(data, str) and data.startswith(SEND_PREFIX):
                # A send is answered after its commit, a ping at once: without this wait the pong came
                # first, and a next case that closes the socket (1009) lost the send's ack.
                self._until(SEND_ANSWERED)
            ws.send(orjson.dumps({"type": "ping", "ref": ref}).decode())
            self._until("pong", ref)
        except (ConnectionClosed, ConnectionResetError) as closed:
            self.ws = None  # a failed case must not leave the next one a dead socket
            code = closed.rcvd.code if isinstance(closed, ConnectionClosed) and closed.rcvd else None
            # The gateway closes (1009) while the client still writes the frame, so TCP may reset before
            # the client reads the close frame: no code is then all it sees.
            assert len(data) > TOO_BIG and code in (1009, None), f"closed with {code} after {data[:200]!r}"


@pytest.mark.timeout(180)
def test_random_frames_never_break_the_socket_or_change_data(stack: GatewayStack) -> None:
    """Random, malformed and extreme frames: no 1011, no traceback, the socket answers, the room and rooms unchanged."""
    user, token = stack.register("fuzzws")
    headers = {"Authorization": f"Bearer {token}"}
    room = httpx.post(f"{stack.api_url}/rooms", json={"kind": "private", "name": "fuzz"}, headers=headers).json()["id"]
    rooms_before = httpx.get(f"{stack.api_url}/rooms", headers=headers).json()
    sockets = contextlib.ExitStack()
    probe, since, cases = Probe(stack, token, sockets), len(stack.gateway.lines), itertools.count(1)
    started = time.monotonic()

    @settings(
        max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )  # fmt: skip
    @given(frames())
    def case(data: str | bytes) -> None:
        next(cases)
        probe.case(data.replace("ROOM", str(room)) if isinstance(data, str) else data)

    with sockets:
        case()
    count = next(cases) - 1
    print(f"\nWebSocket fuzz: {count} cases in {time.monotonic() - started:.1f} s, {len(probe.acked)} messages stored")
    assert stack.gateway.errors_since(since) == []
    assert [seq for seq, _ in stack.stored_messages(room)] == sorted(probe.acked)
    rooms_after = httpx.get(f"{stack.api_url}/rooms", headers=headers).json()
    assert [r["room"]["id"] for r in rooms_after["rooms"]] == [r["room"]["id"] for r in rooms_before["rooms"]]
    assert user["id"] > 0
