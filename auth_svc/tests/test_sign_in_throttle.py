"""The sign-in throttle and the username rule at sign-in (issue 14, finding 1), under grpcio-testing and on MySQL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from sqlalchemy import select

from auth_svc.models import User
from auth_svc.server import build_servicers, migrate
from auth_svc.service import BAD_CREDENTIALS
from auth_svc.servicer import peer_host
from auth_svc.settings import AuthSettings
from auth_svc.tests.conftest import SERVICE, SERVICE_SECRET
from auth_svc.tests.helpers import PASSWORD, register, service_token
from common.db import Database, make_engine
from common.limits import CLIENT_ADDRESS_KEY
from parley.auth.v1 import auth_pb2 as pb
from tests.support.grpc_testing_adapter import AsyncServicerHarness, background_loop
from tests.support.redis import RedisServer

ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"


def _login(
    harness: AsyncServicerHarness, username: str, password: str, address: str = ATTACKER, as_gateway: bool = True
) -> tuple[grpc.StatusCode, str]:
    """Login from address: named by the gateway (with its service token, as it does), or by the caller itself."""
    metadata: tuple[tuple[str, str], ...] = ((CLIENT_ADDRESS_KEY, address),)
    if as_gateway:
        metadata += (("authorization", f"Bearer {service_token(harness, 'edge_gateway', SERVICE_SECRET)}"),)
    _, code, details = harness.invoke_unary("Login", pb.LoginRequest(username=username, password=password), metadata)
    return code, details


@contextmanager
def _harnesses(settings: AuthSettings, count: int) -> Iterator[list[AsyncServicerHarness]]:
    """`count` AuthServicers (replicas) on one database, each with its own throttle store or a shared Redis."""
    migrate(settings)
    db = Database(settings.database_url, threads=4)
    loop, stop = background_loop()
    try:
        yield [AsyncServicerHarness(SERVICE, build_servicers(settings, db)[0], loop) for _ in range(count)]
    finally:
        stop()
        db.close()


@pytest.mark.parametrize("spelling", ["alicé", "\uff41lice", "\u212alice", "al ice", "a", "x" * 40])
def test_a_malformed_username_is_refused_like_a_wrong_password(harness: AsyncServicerHarness, spelling: str) -> None:
    """A name breaking the username rule (accents, full-width letters, Kelvin sign) gets the wrong-password answer."""
    register(harness, "alice")
    register(harness, "kalice")
    assert _login(harness, spelling, PASSWORD, OWNER) == (grpc.StatusCode.UNAUTHENTICATED, BAD_CREDENTIALS)
    assert _login(harness, "nobody", PASSWORD, OWNER) == (grpc.StatusCode.UNAUTHENTICATED, BAD_CREDENTIALS)


def test_an_attackers_failures_do_not_stop_the_owner_elsewhere(harness: AsyncServicerHarness) -> None:
    """Ten failures from one address make that address wait; the owner from another address signs in at once."""
    register(harness)
    codes = [_login(harness, "alice", "not the password")[0] for _ in range(10)]
    assert codes[:3] == [grpc.StatusCode.UNAUTHENTICATED] * 3
    assert set(codes[3:]) == {grpc.StatusCode.RESOURCE_EXHAUSTED}
    assert _login(harness, "alice", PASSWORD, OWNER)[0] == grpc.StatusCode.OK


def test_an_address_named_without_a_service_token_is_not_believed(harness: AsyncServicerHarness) -> None:
    """A direct caller naming a fresh address per try is counted at the address it calls from, and waits."""
    register(harness)
    for i in range(3):
        _login(harness, "alice", "not the password", f"192.0.2.{i}", as_gateway=False)
    assert _login(harness, "alice", PASSWORD, "192.0.2.99", as_gateway=False)[0] == grpc.StatusCode.RESOURCE_EXHAUSTED


@pytest.mark.parametrize(
    ("peer", "host"),
    [("ipv4:10.0.0.7:5123", "10.0.0.7"), ("ipv6:[::1]:5123", "::1"), ("unix:/run/auth.sock", "unix:/run/auth.sock")],
)
def test_the_callers_own_address_comes_from_its_peer(peer: str, host: str) -> None:
    """grpc.aio's peer strings give the host the throttle counts."""
    assert peer_host(peer) == host


def test_a_refusal_says_how_long_to_wait(harness: AsyncServicerHarness) -> None:
    """A throttled attempt is RESOURCE_EXHAUSTED with the wait in words (the gateway's test sees Retry-After)."""
    for _ in range(3):
        _login(harness, "alice", "not the password")
    code, details = _login(harness, "alice", PASSWORD)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and details == "too many sign-in attempts; try again in 1 second"


def test_guessing_one_account_from_many_addresses_is_slowed(auth_settings: AuthSettings) -> None:
    """Failures spread over addresses count against the account: past its free attempts, a new address waits too."""
    settings = auth_settings.model_copy(update={"login_account_free_attempts": 5})
    with _harnesses(settings, 1) as (harness,):
        register(harness)
        for i in range(5):
            assert _login(harness, "alice", "not the password", f"192.0.2.{i}")[0] == grpc.StatusCode.UNAUTHENTICATED
        assert _login(harness, "alice", PASSWORD, "192.0.2.200")[0] == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_the_delay_holds_across_replicas_sharing_redis(auth_settings: AuthSettings, broker: RedisServer) -> None:
    """Failures on one replica make the next attempt on another replica wait, and the wait grows: 1 s, then 2 s."""
    settings = auth_settings.model_copy(update={"broker_url": broker.url})
    with _harnesses(settings, 2) as (first, second):
        register(first)
        for _ in range(3):
            assert _login(first, "alice", "not the password")[0] == grpc.StatusCode.UNAUTHENTICATED
        code, details = _login(second, "alice", PASSWORD)
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and details.endswith("1 second")
        time.sleep(1.05)  # the wait itself is what is tested
        assert _login(second, "alice", "not the password")[0] == grpc.StatusCode.UNAUTHENTICATED
        code, details = _login(first, "alice", PASSWORD)
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and details.endswith("2 seconds")


def test_without_redis_each_replica_counts_alone(auth_settings: AuthSettings) -> None:
    """Without AUTH_BROKER_URL the counts are per replica (the in-memory store): the contrast to the test above."""
    with _harnesses(auth_settings, 2) as (first, second):
        register(first)
        for _ in range(3):
            _login(first, "alice", "not the password")
        assert _login(second, "alice", PASSWORD)[0] == grpc.StatusCode.OK


@pytest.mark.mysql
def test_on_mysql_an_accented_or_full_width_spelling_names_nobody(
    mysql_db: Callable[[str], str], tmp_path: Path
) -> None:
    """On MySQL the username column compares bytes: accented and full-width spellings match no row, nor sign in."""
    settings = AuthSettings(
        database_url=mysql_db("auth_collation"),
        keys_dir=tmp_path / "keys",
        service_clients={"edge_gateway": SERVICE_SECRET},
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    with _harnesses(settings, 1) as (harness,):
        register(harness, "alice")
        engine = make_engine(settings.database_url)
        try:
            with engine.connect() as conn:
                found = conn.scalars(
                    select(User.username).where(User.username.in_(["alicé", "\uff41lice", "ALICE"]))
                ).all()
        finally:
            engine.dispose()
        assert found == []
        for spelling in ("alicé", "\uff41lice"):
            assert _login(harness, spelling, PASSWORD) == (grpc.StatusCode.UNAUTHENTICATED, BAD_CREDENTIALS)
