"""Who may call ChatService: access-token checks on every call (grpcio-testing, SQLite)."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
import jwt
import pytest

from chat_svc.tests.helpers import ALICE, BOB, Caller, ChatHarness, TokenMint
from parley.chat.v1 import chat_pb2 as pb

Code = grpc.StatusCode
SERVICE = pb.DESCRIPTOR.services_by_name["ChatService"]
UNARY_METHODS = [m.name for m in SERVICE.methods if not m.server_streaming]


def _unsigned(mint: TokenMint) -> str:
    """An alg=none token (no signature at all) naming the mint's kid."""
    return jwt.encode(mint.claims(str(ALICE)), None, algorithm="none", headers={"kid": mint.key_id})  # type: ignore[arg-type]


BAD_TOKENS: dict[str, Callable[[TokenMint], str]] = {
    "garbage": lambda mint: "not-a-jwt",
    "forged-same-kid": lambda mint: mint.forged(ALICE),
    "unknown-kid": lambda mint: mint.forged(ALICE, key_id="no-such-key"),
    "expired": lambda mint: mint.token(ALICE, iat=int(time.time()) - 3600, exp=int(time.time()) - 60),
    "wrong-audience": lambda mint: mint.token(ALICE, aud="someone-else"),
    "wrong-issuer": lambda mint: mint.token(ALICE, iss="evil-auth"),
    "no-session-id": lambda mint: mint.token(ALICE, sid=None),
    "hs256-with-kid": lambda mint: jwt.encode(
        mint.claims(str(ALICE)), "x" * 32, algorithm="HS256", headers={"kid": mint.key_id}
    ),
    "alg-none": lambda mint: _unsigned(mint),
}


def _request_for(method: str) -> object:
    return getattr(pb, f"{method}Request")()


@pytest.mark.parametrize("method", UNARY_METHODS)
def test_every_call_needs_a_token(chat: ChatHarness, method: str) -> None:
    """Each unary RPC without authorization metadata is UNAUTHENTICATED."""
    _, code, details = chat.harness.invoke_unary(method, _request_for(method))
    assert code == Code.UNAUTHENTICATED
    assert "authorization" in details


def test_stream_needs_a_token(chat: ChatHarness) -> None:
    """StreamEvents without authorization metadata ends UNAUTHENTICATED before any event."""
    responses, code, _ = chat.harness.invoke_stream("StreamEvents", pb.StreamEventsRequest(), take=1)
    assert (responses, code) == ([], Code.UNAUTHENTICATED)


@pytest.mark.parametrize("make_token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_bad_token_is_unauthenticated(chat: ChatHarness, make_token: Callable[[TokenMint], str]) -> None:
    """Garbage, forged, unknown-key, expired, wrong-audience/issuer and wrong-algorithm tokens are refused."""
    caller = chat.caller(make_token(chat.mint))
    assert caller.code("ListMyRooms", pb.ListMyRoomsRequest()) == Code.UNAUTHENTICATED


@pytest.mark.parametrize("make_token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_bad_token_cannot_stream(chat: ChatHarness, make_token: Callable[[TokenMint], str]) -> None:
    """StreamEvents with a bad token ends UNAUTHENTICATED without any event."""
    responses, code, _ = chat.stream(chat.caller(make_token(chat.mint)), pb.StreamEventsRequest(), take=1)
    assert (responses, code) == ([], Code.UNAUTHENTICATED)


def test_expired_token_says_to_refresh(chat: ChatHarness) -> None:
    """The message for an expired token tells the client what to do."""
    caller = chat.caller(BAD_TOKENS["expired"](chat.mint))
    _, _, details = caller.call("ListMyRooms", pb.ListMyRoomsRequest())
    assert "expired" in details


@pytest.mark.parametrize(
    "value",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "token-without-scheme"],
    ids=["basic", "bare", "blank", "raw"],
)
def test_malformed_authorization_header_is_unauthenticated(chat: ChatHarness, value: str) -> None:
    """Anything but 'Bearer <token>' in the authorization entry is UNAUTHENTICATED."""
    _, code, _ = chat.harness.invoke_unary("ListMyRooms", pb.ListMyRoomsRequest(), metadata=(("authorization", value),))
    assert code == Code.UNAUTHENTICATED


def test_bearer_scheme_is_case_insensitive(chat: ChatHarness) -> None:
    """'bearer <token>' works like 'Bearer <token>'."""
    metadata = (("authorization", "bearer " + chat.mint.token(ALICE)),)
    _, code, _ = chat.harness.invoke_unary("ListMyRooms", pb.ListMyRoomsRequest(), metadata=metadata)
    assert code == Code.OK


def test_token_of_another_user_acts_as_that_user(chat: ChatHarness, alice: Caller) -> None:
    """The caller is the token's subject: Bob's token cannot reach Alice's private room."""
    room = alice.create_room("mine", pb.ROOM_KIND_PRIVATE)
    assert chat.user(BOB).code("GetRoom", pb.GetRoomRequest(room_id=room.id)) == Code.PERMISSION_DENIED


@pytest.mark.parametrize(
    ("method", "request_"),
    [
        ("ListMyRooms", pb.ListMyRoomsRequest()),
        ("CreateRoom", pb.CreateRoomRequest(kind=pb.ROOM_KIND_PUBLIC, name="bots")),
        ("SendMessage", pb.SendMessageRequest(room_id=1, client_msg_id="a", body="hi")),
    ],
    ids=["ListMyRooms", "CreateRoom", "SendMessage"],
)
def test_service_token_on_a_user_call_is_permission_denied(chat: ChatHarness, method: str, request_: object) -> None:
    """A valid service token (sub 'service:edge_gateway') cannot act as a user."""
    service = chat.caller(chat.mint.token("service:edge_gateway"))
    _, code, details = service.call(method, request_)
    assert code == Code.PERMISSION_DENIED
    assert "service token" in details


def test_all_rooms_stream_needs_a_service_token(chat: ChatHarness, alice: Caller) -> None:
    """StreamEvents with all_rooms and a user token is PERMISSION_DENIED."""
    responses, code, details = chat.stream(alice, pb.StreamEventsRequest(all_rooms=True), take=1)
    assert (responses, code) == ([], Code.PERMISSION_DENIED)
    assert "service token" in details


def test_service_token_may_stream_all_rooms(chat: ChatHarness) -> None:
    """StreamEvents with all_rooms and a service token is accepted and catches up."""
    service = chat.caller(chat.mint.token("service:edge_gateway"))
    responses, code, _ = chat.stream(service, pb.StreamEventsRequest(all_rooms=True), take=1)
    assert code is None
    assert responses[0].caught_up


def test_service_token_without_all_rooms_is_permission_denied(chat: ChatHarness) -> None:
    """A service token must ask for all_rooms: it has no rooms of its own."""
    service = chat.caller(chat.mint.token("service:edge_gateway"))
    responses, code, _ = chat.stream(service, pb.StreamEventsRequest(), take=1)
    assert (responses, code) == ([], Code.PERMISSION_DENIED)
