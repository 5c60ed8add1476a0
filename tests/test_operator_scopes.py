"""Every operator RPC checks its token's scope first: one parametrized test over the service descriptors.

Each RPC is called with an empty request through real auth_svc and chat_svc processes on MySQL: a
plain user's token and a token without any scope answer PERMISSION_DENIED on every RPC, the
"auditor" (admin:read) on every write, and the "operator" (admin:read and admin:write) gets past
the check (its empty requests then fail their own way, or succeed). SCOPES says which scope each
RPC needs; a new RPC without a row fails test_every_operator_rpc_has_a_row, and one without a check
fails the calls. Another operator service joins by adding its descriptor to SERVICES and its rows.
(Both servicers check with common/scopes.py's @requires, and refuse to start with an RPC that lacks it.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message_factory import GetMessageClass

from auth_svc.admin_servicer import AdminServicer
from chat_svc.moderation_servicer import ModerationServicer
from common.scopes import require_all_scoped, requires
from common.tokens import ADMIN_READ, ADMIN_WRITE, auth_metadata
from parley.auth.v1 import admin_pb2, auth_pb2, auth_pb2_grpc
from parley.chat.v1 import moderation_pb2, moderation_pb2_grpc
from tests.support import mysql
from tests.support.stack import AUTH, CHAT, PASSWORD, Component, Stack

pytestmark = pytest.mark.mysql

Code = grpc.StatusCode
STREAM_WAIT_S = 1.0  # a stream that the check lets through (TailEvents) is given this long, then left

# The operator services, and which process serves each.
SERVICES: list[tuple[ServiceDescriptor, Component]] = [
    (admin_pb2.DESCRIPTOR.services_by_name["AdminService"], AUTH),
    (moderation_pb2.DESCRIPTOR.services_by_name["ModerationService"], CHAT),
]
# service -> RPC -> the scope it needs.
SCOPES: dict[str, dict[str, str]] = {
    "parley.auth.v1.AdminService": {
        "FindUsers": ADMIN_READ,
        "GetAccount": ADMIN_READ,
        "DisableUser": ADMIN_WRITE,
        "EnableUser": ADMIN_WRITE,
        "EndSessions": ADMIN_WRITE,
        "ResetPassword": ADMIN_WRITE,
        "SetAdmin": ADMIN_WRITE,
        "ListAuditLog": ADMIN_READ,
    },
    "parley.chat.v1.ModerationService": {
        "FindRooms": ADMIN_READ,
        "ListRoomMembers": ADMIN_READ,
        "ArchiveRoom": ADMIN_WRITE,
        "RestoreRoom": ADMIN_WRITE,
        "RemoveRoomMember": ADMIN_WRITE,
        "TransferOwnership": ADMIN_WRITE,
        "TakeDownMessage": ADMIN_WRITE,
        "ExportRoom": ADMIN_READ,
        "TailEvents": ADMIN_READ,
        "ListAuditLog": ADMIN_READ,
    },
}
RPCS = [
    pytest.param(service, method, component, id=f"{service.name}.{method.name}")
    for service, component in SERVICES
    for method in service.methods
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """auth_svc and chat_svc as processes on fresh parley_test_scopes_* MySQL databases (no gateway)."""
    if mysql.unavailable_reason():
        pytest.skip(mysql.unavailable_reason() or "")
    started = Stack(tmp_path_factory.mktemp("scopes-stack"))
    try:
        yield started.create_databases("parley_test_scopes").up(gateways=0)
    finally:
        started.stop()


@pytest.fixture(scope="module")
def tokens(stack: Stack) -> dict[str, str]:
    """A token of each kind of caller: a plain user, the gateway's service (no scopes), the auditor, the operator."""
    with grpc.insecure_channel(stack.auth_address) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        user = auth.Register(auth_pb2.RegisterRequest(username="scopes_user", password=PASSWORD), timeout=10)
        gateway = auth.IssueServiceToken(
            auth_pb2.IssueServiceTokenRequest(client_id="edge_gateway", client_secret=stack.secret), timeout=10
        )
    return {
        "user": user.session.access_token,
        "no scopes": gateway.access_token,
        "auditor": stack.service_token("auditor"),
        "operator": stack.service_token("operator"),
    }


def call(stack: Stack, component: Component, service: ServiceDescriptor, method: MethodDescriptor, token: str) -> Code:
    """The status an RPC answers to an empty request with this token (OK, or a stream still open after a while)."""
    address = stack.auth_address if component == AUTH else stack.chat_address
    request_class, response_class = GetMessageClass(method.input_type), GetMessageClass(method.output_type)
    path = f"/{service.full_name}/{method.name}"
    kwargs: dict[str, Any] = {
        "request_serializer": request_class.SerializeToString,
        "response_deserializer": response_class.FromString,
    }
    metadata = auth_metadata(token) if token else ()
    with grpc.insecure_channel(address) as channel:
        try:
            if method.client_streaming:
                request: Any = iter([request_class()])
            else:
                request = request_class()
            if method.server_streaming:
                stream = (channel.stream_stream if method.client_streaming else channel.unary_stream)(path, **kwargs)
                next(iter(stream(request, metadata=metadata, timeout=STREAM_WAIT_S)), None)
            else:
                unary = (channel.stream_unary if method.client_streaming else channel.unary_unary)(path, **kwargs)
                unary(request, metadata=metadata, timeout=10)
        except grpc.RpcError as error:
            return error.code()
    return Code.OK


def test_every_operator_rpc_has_a_row() -> None:
    """SCOPES names exactly the RPCs of every operator service."""
    assert {s.full_name: {m.name for m in s.methods} for s, _ in SERVICES} == {k: set(v) for k, v in SCOPES.items()}


@pytest.mark.parametrize(("service", "method", "component"), RPCS)
@pytest.mark.parametrize("caller", ["user", "no scopes"])
def test_a_token_without_the_scopes_is_denied(
    stack: Stack,
    tokens: dict[str, str],
    service: ServiceDescriptor,
    method: MethodDescriptor,
    component: Component,
    caller: str,
) -> None:
    """A plain user's token, and a service token without scopes, get PERMISSION_DENIED."""
    assert call(stack, component, service, method, tokens[caller]) == Code.PERMISSION_DENIED


@pytest.mark.parametrize(("service", "method", "component"), RPCS)
def test_the_auditor_may_read_but_not_write(
    stack: Stack, tokens: dict[str, str], service: ServiceDescriptor, method: MethodDescriptor, component: Component
) -> None:
    """admin:read alone: PERMISSION_DENIED on the writes, past the check on the reads."""
    code = call(stack, component, service, method, tokens["auditor"])
    if SCOPES[service.full_name][method.name] == ADMIN_WRITE:
        assert code == Code.PERMISSION_DENIED
    else:
        assert code != Code.PERMISSION_DENIED


@pytest.mark.parametrize(("service", "method", "component"), RPCS)
def test_the_operator_gets_past_every_check(
    stack: Stack, tokens: dict[str, str], service: ServiceDescriptor, method: MethodDescriptor, component: Component
) -> None:
    """admin:read and admin:write: no RPC answers PERMISSION_DENIED or UNAUTHENTICATED."""
    assert call(stack, component, service, method, tokens["operator"]) not in {
        Code.PERMISSION_DENIED,
        Code.UNAUTHENTICATED,
    }


@pytest.mark.parametrize(("service", "method", "component"), RPCS)
def test_no_token_is_unauthenticated(
    stack: Stack, service: ServiceDescriptor, method: MethodDescriptor, component: Component
) -> None:
    """A call without a token answers UNAUTHENTICATED."""
    assert call(stack, component, service, method, "") == Code.UNAUTHENTICATED


class _Unchecked(moderation_pb2_grpc.ModerationServiceServicer):
    """A servicer with one RPC checked and the rest left to the generated base."""

    async def principal(self, context: Any) -> Any:
        raise NotImplementedError

    @requires(ADMIN_READ)
    async def FindRooms(self, principal: Any, request: Any, context: Any) -> Any:
        raise NotImplementedError


def test_a_servicer_with_an_unchecked_rpc_is_refused_at_start() -> None:
    """require_all_scoped names the RPCs without @requires; AdminServicer and ModerationServicer have none."""
    with pytest.raises(TypeError, match="ListRoomMembers"):
        require_all_scoped(
            _Unchecked(),  # type: ignore[abstract]  # the point: RPCs left unwritten
            moderation_pb2.DESCRIPTOR.services_by_name["ModerationService"],
        )
    require_all_scoped(
        ModerationServicer.__new__(ModerationServicer), moderation_pb2.DESCRIPTOR.services_by_name["ModerationService"]
    )
    require_all_scoped(AdminServicer.__new__(AdminServicer), admin_pb2.DESCRIPTOR.services_by_name["AdminService"])
