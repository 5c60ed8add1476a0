"""ParleyClient, the typed client other tools import: its service token and its retries, on real servers."""

from __future__ import annotations

import grpc
import pytest

from parley.auth.v1 import admin_pb2, admin_pb2_grpc
from parleyctl.client import ParleyClient, ServiceCredentials
from tests.support.processes import free_port
from tests.support.stack import OPERATORS, Stack

pytestmark = pytest.mark.mysql


def _client(stack: Stack, auth_target: str = "", **options: object) -> ParleyClient:
    credentials = ServiceCredentials("operator", OPERATORS["operator"]["secret"])
    return ParleyClient(auth_target or stack.auth_address, stack.chat_address, credentials, **options)  # type: ignore[arg-type]


def test_the_service_token_is_fetched_once_and_again_after_it_is_expired(stack: Stack) -> None:
    """Two calls share one token; after expire() the next call fetches a new one."""
    with _client(stack) as client:
        client.call(client.admin.FindUsers, admin_pb2.FindUsersRequest(page_size=1))
        first = client.credentials.token(client.auth, 5)
        client.call(client.admin.FindUsers, admin_pb2.FindUsersRequest(page_size=1))
        assert client.credentials.token(client.auth, 5) == first
        client.credentials.expire()
        assert client.credentials.token(client.auth, 5) != first


def test_an_unreachable_service_is_retried_for_idempotent_calls_only(stack: Stack) -> None:
    """UNAVAILABLE: an idempotent call is tried `attempts` times with growing pauses; another one once."""
    pauses: list[float] = []
    with _client(stack, timeout=2.0, attempts=3, sleep=pauses.append) as client:
        # The token comes from the real auth_svc; the calls go to a port where nothing listens.
        dead = grpc.insecure_channel(f"127.0.0.1:{free_port()}")
        stub = admin_pb2_grpc.AdminServiceStub(dead)
        with pytest.raises(grpc.RpcError) as refused:
            client.call(stub.FindUsers, admin_pb2.FindUsersRequest())
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert len(pauses) == 2 and pauses[0] < pauses[1] * 2
        pauses.clear()
        with pytest.raises(grpc.RpcError):
            client.call(stub.DisableUser, admin_pb2.DisableUserRequest(user_id=1, reason="x"), idempotent=False)
        assert pauses == []
        dead.close()
