"""auth_svc as a real process on MySQL, reached over the network with grpc.aio and grpcurl."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from auth_svc.server import SERVICE_NAME
from common.tokens import auth_metadata
from parley.auth.v1 import auth_pb2 as pb
from parley.auth.v1.auth_pb2_grpc import AuthServiceStub
from tests.support import mysql
from tests.support.processes import ServiceProcess, grpcurl
from tests.support.stack import AUTH, Stack

if TYPE_CHECKING:  # the async stub type exists only in the generated .pyi
    from parley.auth.v1.auth_pb2_grpc import AuthServiceAsyncStub

pytestmark = pytest.mark.mysql

PASSWORD = "correct horse battery"
SECRET = "integration-test-secret-0123"


def _stop(process: ServiceProcess) -> int:
    """Stop the process (stop() also drains and closes its output pipe)."""
    return process.stop()


def _stack(database_url: str, workdir: Path, **extra: str) -> Stack:
    """A stack for auth_svc alone, its database migrated."""
    stack = Stack(workdir, env=extra, secret=SECRET, auth_db_url=database_url)
    stack.migrate(AUTH)
    return stack


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One migrated auth_svc process on a fresh parley_test_auth_it database, shared by this module.

    The root `mysql_db` fixture is function-scoped, so this calls the same tests.support.mysql helper.
    """
    stack = _stack(mysql.fresh_database("parley_test_auth_it"), tmp_path_factory.mktemp("auth-stack"))
    process = stack.start(AUTH)
    try:
        yield process
    finally:
        _stop(process)


@pytest.fixture
async def channel(service: ServiceProcess) -> AsyncIterator[aio.Channel]:
    """A client channel to the shared process."""
    async with aio.insecure_channel(service.address) as channel:
        yield channel


@pytest.fixture
def stub(channel: aio.Channel) -> AuthServiceAsyncStub:
    """An AuthService stub on the channel."""
    return AuthServiceStub(channel)


async def _register(stub: AuthServiceAsyncStub, username: str, display_name: str = "") -> pb.RegisterResponse:
    return await stub.Register(
        pb.RegisterRequest(username=username, password=PASSWORD, display_name=display_name), timeout=10
    )


async def _code(call: Callable[[], object]) -> grpc.StatusCode:
    """The status code of an awaited call: OK, or the code it failed with."""
    try:
        await call()  # type: ignore[misc]
    except aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


# -- the API over the network -----------------------------------------------------------------------


async def test_register_login_and_get_user(stub: AuthServiceAsyncStub) -> None:
    """Register, Login and GetUser work over the network, and a 4-byte UTF-8 display name survives MySQL."""
    registered = await _register(stub, "it_alice", display_name="Alice 🎉 Ünïcode")
    logged_in = await stub.Login(pb.LoginRequest(username="IT_Alice", password=PASSWORD), timeout=10)
    assert logged_in.user == registered.user
    found = await stub.GetUser(
        pb.GetUserRequest(user_id=registered.user.id), metadata=auth_metadata(logged_in.session.access_token)
    )
    assert found.user.display_name == "Alice 🎉 Ünïcode"
    assert found.user.created_at == registered.user.created_at


async def test_created_at_keeps_microseconds(stub: AuthServiceAsyncStub) -> None:
    """MySQL stores created_at with microseconds, so it reads back exactly as Register answered it."""
    registered = await _register(stub, "it_micro")
    found = await stub.GetUser(
        pb.GetUserRequest(username="it_micro"), metadata=auth_metadata(registered.session.access_token)
    )
    assert found.user.created_at.nanos == registered.user.created_at.nanos
    assert registered.user.created_at.nanos % 1000 == 0


async def test_errors_arrive_as_status_and_message(stub: AuthServiceAsyncStub) -> None:
    """A refused call arrives as its status code with the service's message."""
    with pytest.raises(aio.AioRpcError) as caught:
        await stub.GetUser(pb.GetUserRequest(username="it_alice"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "authorization" in (caught.value.details() or "")


async def test_refresh_rotates_and_reuse_revokes_the_family(stub: AuthServiceAsyncStub) -> None:
    """Refresh rotates on MySQL; reusing the old token fails and ends the session for the new one too."""
    first = (await _register(stub, "it_bob")).session
    second = (await stub.Refresh(pb.RefreshRequest(refresh_token=first.refresh_token), timeout=5)).session
    assert second.session_id == first.session_id
    reuse = await _code(lambda: stub.Refresh(pb.RefreshRequest(refresh_token=first.refresh_token), timeout=5))
    assert reuse == grpc.StatusCode.UNAUTHENTICATED
    newest = await _code(lambda: stub.Refresh(pb.RefreshRequest(refresh_token=second.refresh_token), timeout=5))
    assert newest == grpc.StatusCode.UNAUTHENTICATED


async def test_logout_over_the_network(stub: AuthServiceAsyncStub) -> None:
    """Logout on MySQL ends the session: its refresh token is then refused."""
    session = (await _register(stub, "it_logout")).session
    await stub.Logout(pb.LogoutRequest(refresh_token=session.refresh_token), timeout=5)
    code = await _code(lambda: stub.Refresh(pb.RefreshRequest(refresh_token=session.refresh_token), timeout=5))
    assert code == grpc.StatusCode.UNAUTHENTICATED


async def test_concurrent_register_of_one_username(stub: AuthServiceAsyncStub) -> None:
    """Ten simultaneous Registers of one username: exactly one OK, the other nine ALREADY_EXISTS."""
    codes = await asyncio.gather(*(_code(lambda: _register(stub, "it_racer")) for _ in range(10)))
    assert sorted(c.name for c in codes) == ["ALREADY_EXISTS"] * 9 + ["OK"]


async def test_concurrent_refresh_of_one_token(stub: AuthServiceAsyncStub) -> None:
    """Two simultaneous Refreshes of one token: exactly one wins, and the race counts as reuse."""
    session = (await _register(stub, "it_refresh_race")).session
    request = pb.RefreshRequest(refresh_token=session.refresh_token)
    calls = [stub.Refresh(request, timeout=10) for _ in range(2)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    winners = [r for r in results if isinstance(r, pb.RefreshResponse)]
    losers = [r for r in results if isinstance(r, aio.AioRpcError)]
    assert len(winners) == 1
    assert [e.code() for e in losers] == [grpc.StatusCode.UNAUTHENTICATED]
    newest = pb.RefreshRequest(refresh_token=winners[0].session.refresh_token)
    assert await _code(lambda: stub.Refresh(newest, timeout=5)) == grpc.StatusCode.UNAUTHENTICATED


async def test_service_token_over_the_network(stub: AuthServiceAsyncStub) -> None:
    """IssueServiceToken with AUTH_SERVICE_CLIENTS credentials gives a token GetUser accepts."""
    await _register(stub, "it_carol")
    issued = await stub.IssueServiceToken(
        pb.IssueServiceTokenRequest(client_id="edge_gateway", client_secret=SECRET), timeout=5
    )
    found = await stub.GetUser(pb.GetUserRequest(username="it_carol"), metadata=auth_metadata(issued.access_token))
    assert found.user.username == "it_carol"


async def test_expired_deadline_is_deadline_exceeded_and_the_server_carries_on(stub: AuthServiceAsyncStub) -> None:
    """Calls with a 1 ms deadline fail with DEADLINE_EXCEEDED; the next normal calls succeed."""
    request = pb.RegisterRequest(username="it_hurry", password=PASSWORD)
    codes = await asyncio.gather(*(_code(lambda: stub.Register(request, timeout=0.001)) for _ in range(5)))
    assert set(codes) == {grpc.StatusCode.DEADLINE_EXCEEDED}
    keys = await stub.GetPublicKeys(pb.GetPublicKeysRequest(), timeout=5)
    assert keys.keys
    await _register(stub, "it_after_deadline")


# -- health, reflection, grpcurl --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", SERVICE_NAME], ids=["server", "AuthService"])
async def test_health_check_is_serving(channel: aio.Channel, name: str) -> None:
    """grpc.health.v1 Check answers SERVING for the server and for AuthService."""
    response = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_service(channel: aio.Channel) -> None:
    """Server reflection lists parley.auth.v1.AuthService (and health, and reflection itself)."""
    call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(timeout=5)
    await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
    await call.done_writing()
    response = await call.read()
    names = {s.name for s in response.list_services_response.service}
    assert {"parley.auth.v1.AuthService", "grpc.health.v1.Health"} <= names


async def test_grpcurl_lists_the_service(service: ServiceProcess) -> None:
    """`grpcurl -plaintext ADDRESS list` names AuthService, through reflection."""
    code, output = await grpcurl("-plaintext", service.address, "list")
    assert code == 0, output
    assert "parley.auth.v1.AuthService" in output.split()


async def test_grpcurl_get_user_with_a_token(service: ServiceProcess, stub: AuthServiceAsyncStub) -> None:
    """Through grpcurl, GetUser with `-H authorization: Bearer ...` prints the user as JSON."""
    registered = await _register(stub, "it_curl", display_name="Curl User")
    code, output = await grpcurl(
        "-plaintext",
        "-H",
        f"authorization: Bearer {registered.session.access_token}",
        "-d",
        '{"username": "it_curl"}',
        service.address,
        "parley.auth.v1.AuthService/GetUser",
    )
    assert code == 0, output
    user = json.loads(output)["user"]
    assert user["id"] == str(registered.user.id)
    assert user["username"] == "it_curl"
    assert user["display_name"] == "Curl User"  # grpcurl prints the .proto field names


async def test_grpcurl_get_user_without_a_token(service: ServiceProcess) -> None:
    """Through grpcurl, GetUser without a token fails and shows the Unauthenticated status."""
    code, output = await grpcurl(
        "-plaintext", "-d", '{"username": "it_curl"}', service.address, "parley.auth.v1.AuthService/GetUser"
    )
    assert code != 0
    assert "Unauthenticated" in output


def test_logs_are_json_lines(service: ServiceProcess) -> None:
    """Everything the process printed so far is one JSON object per line, naming the service."""
    assert service.lines
    for line in service.lines:
        entry = json.loads(line)
        assert entry["service"] == "auth_svc"


# -- shutdown ---------------------------------------------------------------------------------------


def test_sigterm_exits_cleanly_within_the_grace_period(mysql_db: Callable[[str], str], tmp_path: Path) -> None:
    """On SIGTERM, an idle auth_svc stops with exit code 0 well within its grace period."""
    grace = 3.0
    stack = _stack(mysql_db("auth_sigterm"), tmp_path, AUTH_SHUTDOWN_GRACE_SECONDS=str(grace))
    process = stack.start(AUTH)
    try:
        started = time.monotonic()
        code = process.stop(timeout=grace + 5)
        elapsed = time.monotonic() - started
    finally:
        _stop(process)
    assert code == 0, "\n".join(process.lines[-20:])
    assert elapsed < grace
    assert any("stopped" in line for line in process.lines)
