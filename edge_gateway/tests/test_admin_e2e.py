"""AdminService through real processes: what operators' writes do to a user, and the audit log of them.

Disabling, ending sessions, resetting passwords and the admin flag, seen through sign-in, refresh,
REST calls and live sockets. The stack has no broker: the gateway polls for ended sessions (every
2 s), so an ended access token is refused within a poll.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import jwt
import orjson
import pytest
import websockets

from common.tokens import auth_metadata
from edge_gateway.tests.conftest import PASSWORD, GatewayStack, signed_in_socket
from parley.audit.v1 import audit_pb2
from parley.auth.v1 import admin_pb2 as pb, admin_pb2_grpc

pytestmark = pytest.mark.mysql


class Operator:
    """AdminService as the stack's "operator" service client calls it."""

    def __init__(self, stack: GatewayStack) -> None:
        self._channel = grpc.insecure_channel(stack.auth_address)
        self.stub = admin_pb2_grpc.AdminServiceStub(self._channel)
        self.metadata = auth_metadata(stack.service_token("operator"))

    def __call__(self, method: str, request: Any) -> Any:
        """Call `method` with the operator's token."""
        return getattr(self.stub, method)(request, metadata=self.metadata, timeout=10)

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()


@pytest.fixture(scope="module")
def operator(stack: GatewayStack) -> Iterator[Operator]:
    """An AdminService client with admin:read and admin:write."""
    client = Operator(stack)
    yield client
    client.close()


def _signed_in(stack: GatewayStack, prefix: str) -> tuple[int, str, dict[str, Any]]:
    """A new user: (id, username, their REST session)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    response = httpx.post(f"{stack.api_url}/auth/register", json={"username": name, "password": PASSWORD}, timeout=10)
    assert response.status_code == 201, response.text
    return int(response.json()["user"]["id"]), name, response.json()["session"]


def _login(stack: GatewayStack, name: str, password: str = PASSWORD, **more: str) -> httpx.Response:
    return httpx.post(f"{stack.api_url}/auth/login", json={"username": name, "password": password, **more}, timeout=10)


def _refresh(stack: GatewayStack, session: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{stack.api_url}/auth/refresh", json={"refresh_token": session["refresh_token"]}, timeout=10)


def _rooms(stack: GatewayStack, session: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    return httpx.get(f"{stack.api_url}/rooms", headers=headers, timeout=10)


async def _closed_with(ws: Any) -> int:
    """The close code the server sent, waiting through any frames before it."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else -1


def _refused_soon(stack: GatewayStack, session: dict[str, Any]) -> int:
    """The REST status for the session's access token once the gateway's next poll has passed (<= 5 s)."""
    for _ in range(50):
        if (status := _rooms(stack, session).status_code) != 200:
            return status
        time.sleep(0.1)
    return 200


async def test_a_disabled_users_socket_closes_and_sign_in_refresh_and_rest_are_refused(
    stack: GatewayStack, operator: Operator
) -> None:
    """DisableUser: the live socket closes with 4005; sign-in answers 403, refresh and REST 401."""
    user_id, name, session = _signed_in(stack, "disabled")
    ws = await signed_in_socket(stack, session["access_token"])
    reply = operator("DisableUser", pb.DisableUserRequest(user_id=user_id, reason="spam from this account"))
    assert (reply.account.disabled, reply.sessions_ended) == (True, 1)
    assert await _closed_with(ws) == 4005
    assert _login(stack, name).status_code == 403
    assert _refresh(stack, session).status_code == 401
    assert _rooms(stack, session).status_code == 401


def test_an_enabled_user_signs_in_again(stack: GatewayStack, operator: Operator) -> None:
    """EnableUser after DisableUser: the right password signs in again."""
    user_id, name, _ = _signed_in(stack, "enabled")
    operator("DisableUser", pb.DisableUserRequest(user_id=user_id, reason="looking into a report"))
    reply = operator("EnableUser", pb.EnableUserRequest(user_id=user_id, reason="the report was wrong"))
    assert not reply.account.disabled
    assert _login(stack, name).status_code == 200


def test_a_wrong_password_for_a_disabled_account_still_answers_401(stack: GatewayStack, operator: Operator) -> None:
    """Only the right password learns that an account is disabled."""
    user_id, name, _ = _signed_in(stack, "quiet")
    operator("DisableUser", pb.DisableUserRequest(user_id=user_id, reason="abuse"))
    assert _login(stack, name, "not the password").status_code == 401


def test_ending_all_sessions_cuts_their_refresh_tokens(stack: GatewayStack, operator: Operator) -> None:
    """EndSessions without a session id: every session's refresh token and access token stop working."""
    user_id, name, first = _signed_in(stack, "ended")
    second = _login(stack, name).json()["session"]
    reply = operator("EndSessions", pb.EndSessionsRequest(user_id=user_id, reason="lost laptop"))
    assert reply.sessions_ended == 2
    assert [_refresh(stack, s).status_code for s in (first, second)] == [401, 401]
    assert _refused_soon(stack, second) == 401


def test_ending_one_session_leaves_the_others(stack: GatewayStack, operator: Operator) -> None:
    """EndSessions with a session id ends that one only."""
    user_id, name, first = _signed_in(stack, "one")
    second = _login(stack, name).json()["session"]
    request = pb.EndSessionsRequest(user_id=user_id, session_id=first["session_id"], reason="old phone")
    assert operator("EndSessions", request).sessions_ended == 1
    assert (_refresh(stack, first).status_code, _refresh(stack, second).status_code) == (401, 200)
    account = operator("GetAccount", pb.GetAccountRequest(user_id=user_id))
    ended = {s.session_id: s.end_reason for s in account.sessions if s.HasField("ended_at")}
    assert ended == {first["session_id"]: "ended by an operator"}


def test_someone_elses_session_is_not_found(stack: GatewayStack, operator: Operator) -> None:
    """EndSessions naming another user's session answers NOT_FOUND and ends nothing."""
    user_id, _, _ = _signed_in(stack, "mine")
    _, _, theirs = _signed_in(stack, "theirs")
    request = pb.EndSessionsRequest(user_id=user_id, session_id=theirs["session_id"], reason="typo")
    with pytest.raises(grpc.RpcError) as refused:
        operator("EndSessions", request)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert _refresh(stack, theirs).status_code == 200


def test_a_reset_password_must_be_replaced_at_sign_in(stack: GatewayStack, operator: Operator) -> None:
    """ResetPassword: the old password stops working; the temporary one signs in only with a new password."""
    user_id, name, session = _signed_in(stack, "reset")
    reply = operator("ResetPassword", pb.ResetPasswordRequest(user_id=user_id, reason="user asked by phone"))
    temporary = reply.temporary_password
    assert reply.sessions_ended == 1 and _refresh(stack, session).status_code == 401
    assert _login(stack, name).status_code == 401
    asked = _login(stack, name, temporary)
    assert (asked.status_code, asked.json()["error"]["code"]) == (400, "failed_precondition")
    assert _login(stack, name, temporary, new_password=temporary).status_code == 400  # not the same one again
    assert _login(stack, name, temporary, new_password="a brand new secret").status_code == 200
    assert _login(stack, name, "a brand new secret").status_code == 200
    assert _login(stack, name, temporary).status_code == 401


def test_an_admin_users_tokens_carry_the_scopes_until_the_flag_goes(stack: GatewayStack, operator: Operator) -> None:
    """SetAdmin: the user's next tokens carry admin:read/admin:write and open AdminService; taking it ends them."""
    user_id, name, _ = _signed_in(stack, "admin")
    operator("SetAdmin", pb.SetAdminRequest(user_id=user_id, admin=True, reason="new on-call operator"))
    session = _login(stack, name).json()["session"]
    claims = jwt.decode(session["access_token"], options={"verify_signature": False})
    assert claims["scope"] == "admin:read admin:write"
    own = auth_metadata(session["access_token"])
    found = operator.stub.FindUsers(pb.FindUsersRequest(user_ids=[user_id]), metadata=own, timeout=10)
    assert [a.user.id for a in found.accounts] == [user_id] and found.accounts[0].admin
    operator("SetAdmin", pb.SetAdminRequest(user_id=user_id, admin=False, reason="left the on-call rota"))
    assert _refresh(stack, session).status_code == 401
    assert "scope" not in jwt.decode(
        _login(stack, name).json()["session"]["access_token"], options={"verify_signature": False}
    )


def test_find_users_pages_through_a_prefix(stack: GatewayStack, operator: Operator) -> None:
    """FindUsers by username prefix: ascending by id, page by page, nothing twice."""
    prefix = f"pg{uuid.uuid4().hex[:6]}"
    ids = [_signed_in(stack, prefix)[0] for _ in range(5)]
    seen: list[int] = []
    token = ""
    while True:
        page = operator("FindUsers", pb.FindUsersRequest(username_prefix=prefix, page_size=2, page_token=token))
        seen += [a.user.id for a in page.accounts]
        if not (token := page.next_page_token):
            break
    assert seen == sorted(ids)


def test_every_write_is_in_the_audit_log(stack: GatewayStack, operator: Operator) -> None:
    """Each write appears newest first with the operator as actor, its action, target and reason."""
    user_id, _, _ = _signed_in(stack, "audited")
    for method, request in [
        ("DisableUser", pb.DisableUserRequest(user_id=user_id, reason="r1")),
        ("EnableUser", pb.EnableUserRequest(user_id=user_id, reason="r2")),
        ("EndSessions", pb.EndSessionsRequest(user_id=user_id, reason="r3")),
        ("ResetPassword", pb.ResetPasswordRequest(user_id=user_id, reason="r4")),
        ("SetAdmin", pb.SetAdminRequest(user_id=user_id, admin=True, reason="r5")),
    ]:
        operator(method, request)
    log = operator("ListAuditLog", audit_pb2.ListAuditLogRequest(target=f"user:{user_id}"))
    assert [(e.actor, e.action, e.reason) for e in log.entries] == [
        ("service:operator", "set_admin", "r5"),
        ("service:operator", "reset_password", "r4"),
        ("service:operator", "end_sessions", "r3"),
        ("service:operator", "enable_user", "r2"),
        ("service:operator", "disable_user", "r1"),
    ]
    assert orjson.loads(log.entries[-1].detail_json) == {"sessions_ended": 1}


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501], ids=["empty", "blank", "too long"])
def test_a_write_without_a_proper_reason_changes_nothing(stack: GatewayStack, operator: Operator, reason: str) -> None:
    """No reason (or one over 500 characters): INVALID_ARGUMENT, and the account is left as it was."""
    user_id, name, _ = _signed_in(stack, "noreason")
    with pytest.raises(grpc.RpcError) as refused:
        operator("DisableUser", pb.DisableUserRequest(user_id=user_id, reason=reason))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _login(stack, name).status_code == 200


@pytest.mark.parametrize("user_id", [0, -1, 2**63 - 1], ids=["zero", "negative", "max"])
def test_an_unknown_user_is_not_found(operator: Operator, user_id: int) -> None:
    """GetAccount and DisableUser for an id that names nobody answer NOT_FOUND."""
    for method, request in [
        ("GetAccount", pb.GetAccountRequest(user_id=user_id)),
        ("DisableUser", pb.DisableUserRequest(user_id=user_id, reason="no one")),
    ]:
        with pytest.raises(grpc.RpcError) as refused:
            operator(method, request)
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND
