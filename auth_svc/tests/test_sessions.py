"""Sign-in, refresh-token rotation and sign-out under grpcio-testing (SQLite)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
from passlib.hash import argon2
from sqlalchemy import Engine, select, update

from auth_svc.models import RefreshToken, Session as SessionRow, User
from auth_svc.server import build_servicers, migrate
from auth_svc.settings import AuthSettings
from auth_svc.tests.helpers import PASSWORD, get_user, login, refresh, register, token_hash
from auth_svc.throttle import Count, Scope, decide
from common.db import Database
from common.timestamps import utcnow
from parley.auth.v1 import auth_pb2 as pb
from tests.support.grpc_testing_adapter import AsyncServicerHarness


def _login(harness: AsyncServicerHarness, username: str, password: str) -> tuple[grpc.StatusCode, str]:
    _, code, details = harness.invoke_unary("Login", pb.LoginRequest(username=username, password=password))
    return code, details


def _logout(harness: AsyncServicerHarness, token: str) -> tuple[grpc.StatusCode, str]:
    _, code, details = harness.invoke_unary("Logout", pb.LogoutRequest(refresh_token=token))
    return code, details


# -- Login ------------------------------------------------------------------------------------------


def test_login_returns_a_new_session(harness: AsyncServicerHarness) -> None:
    """Login with the right password (any username case) answers the user and a fresh session."""
    registered = register(harness)
    response = login(harness, "  ALICE ")
    assert response.user == registered.user
    assert response.session.session_id != registered.session.session_id
    assert response.session.refresh_token != registered.session.refresh_token


def test_wrong_password_and_unknown_user_answer_alike(harness: AsyncServicerHarness) -> None:
    """A wrong password and an unknown user both give UNAUTHENTICATED with the same message."""
    register(harness)
    wrong_password = _login(harness, "alice", "not the password")
    unknown_user = _login(harness, "mallory", PASSWORD)
    assert wrong_password[0] == grpc.StatusCode.UNAUTHENTICATED
    assert wrong_password == unknown_user


def test_repeated_failures_make_the_next_try_wait(harness: AsyncServicerHarness) -> None:
    """After login_free_attempts (3) failures, even the right password must wait: RESOURCE_EXHAUSTED."""
    register(harness)
    for _ in range(3):
        assert _login(harness, "alice", "not the password")[0] == grpc.StatusCode.UNAUTHENTICATED
    code, details = _login(harness, "alice", PASSWORD)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "try again in" in details


def test_failures_count_across_username_case(harness: AsyncServicerHarness) -> None:
    """Failures under ALICE, Alice and alice count against the same username."""
    register(harness)
    for name in ("ALICE", "Alice", " alice"):
        assert _login(harness, name, "not the password")[0] == grpc.StatusCode.UNAUTHENTICATED
    assert _login(harness, "alice", PASSWORD)[0] == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_unknown_usernames_are_throttled_too(harness: AsyncServicerHarness) -> None:
    """Guessing at a username that does not exist is throttled like a real one."""
    for _ in range(3):
        assert _login(harness, "nobody", PASSWORD)[0] == grpc.StatusCode.UNAUTHENTICATED
    assert _login(harness, "nobody", PASSWORD)[0] == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_the_delay_is_per_username(harness: AsyncServicerHarness) -> None:
    """A username that must wait does not make anyone else wait."""
    register(harness, "alice")
    register(harness, "bob")
    for _ in range(3):
        _login(harness, "alice", "not the password")
    assert _login(harness, "bob", PASSWORD)[0] == grpc.StatusCode.OK


def test_successful_login_resets_the_failure_count(harness: AsyncServicerHarness) -> None:
    """A success forgets earlier failures: two more failures afterwards do not make the next try wait."""
    register(harness)
    for _ in range(2):
        _login(harness, "alice", "not the password")
    login(harness)
    for _ in range(2):
        assert _login(harness, "alice", "not the password")[0] == grpc.StatusCode.UNAUTHENTICATED
    assert _login(harness, "alice", PASSWORD)[0] == grpc.StatusCode.OK


def test_the_wait_grows_and_is_capped() -> None:
    """After the free attempts each further attempt waits 1 s, 2 s, 4 s ... up to the cap; waiting lets it in."""
    scopes = [Scope("k", free=2)]
    counts, waits, now = [Count()], [], 1000.0
    for _ in range(6):
        wait, counts = decide(counts, scopes, now, max_delay=5.0)
        assert wait == 0
        waits.append(counts[0].next_at - now if counts[0].next_at > now else 0.0)
        assert decide(counts, scopes, now, 5.0)[0] == waits[-1]  # refused meanwhile, and told how long
        now += waits[-1]
    assert waits == [0.0, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_login_upgrades_an_outdated_password_hash(harness: AsyncServicerHarness, engine: Engine) -> None:
    """A hash made with weaker argon2 parameters is replaced by a current one on the next login."""
    register(harness)
    weak = argon2.using(time_cost=1, memory_cost=8192).hash(PASSWORD)
    with engine.begin() as conn:
        conn.execute(update(User).where(User.username == "alice").values(password_hash=weak))
    login(harness)
    with engine.connect() as conn:
        stored = conn.scalar(select(User.password_hash).where(User.username == "alice"))
    assert stored != weak
    assert stored is not None
    current = argon2.from_string(stored)
    assert (current.rounds, current.memory_cost) == (1, 1024)  # the conftest's AUTH_ARGON2_* settings
    assert argon2.verify(PASSWORD, stored)


def test_passwords_and_refresh_tokens_are_stored_hashed(harness: AsyncServicerHarness, engine: Engine) -> None:
    """Neither the password nor the refresh token appears in the database; the token's SHA-256 does."""
    session = register(harness).session
    with engine.connect() as conn:
        password_hash = conn.scalar(select(User.password_hash))
        hashes = conn.scalars(select(RefreshToken.token_hash)).all()
    assert password_hash is not None
    assert password_hash.startswith("$argon2")
    assert PASSWORD not in password_hash
    assert hashes == [token_hash(session.refresh_token)]


# -- Refresh ----------------------------------------------------------------------------------------


def test_refresh_rotates_the_refresh_token(harness: AsyncServicerHarness) -> None:
    """Refresh answers a new refresh token and access token for the same session and user."""
    first = register(harness)
    response, code, details = refresh(harness, first.session.refresh_token)
    assert code == grpc.StatusCode.OK, details
    assert response.user == first.user
    assert response.session.session_id == first.session.session_id
    assert response.session.refresh_token != first.session.refresh_token
    assert response.session.access_token != first.session.access_token


def test_old_access_token_still_verifies_after_refresh(harness: AsyncServicerHarness) -> None:
    """Rotation does not cut short the previous access token; the new one works as well."""
    first = register(harness).session
    second = refresh(harness, first.refresh_token)[0].session
    assert get_user(harness, first.access_token)[1] == grpc.StatusCode.OK
    assert get_user(harness, second.access_token)[1] == grpc.StatusCode.OK


def test_refresh_chain_keeps_working(harness: AsyncServicerHarness) -> None:
    """Each new refresh token can itself be refreshed, several times in a row."""
    token = register(harness).session.refresh_token
    for _ in range(3):
        response, code, details = refresh(harness, token)
        assert code == grpc.StatusCode.OK, details
        token = response.session.refresh_token


def test_reusing_a_rotated_token_is_unauthenticated(harness: AsyncServicerHarness) -> None:
    """Presenting a refresh token a second time is UNAUTHENTICATED and says the session is revoked."""
    first = register(harness).session
    refresh(harness, first.refresh_token)
    _, code, details = refresh(harness, first.refresh_token)
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "already used" in details


def test_reuse_revokes_the_whole_family(harness: AsyncServicerHarness, engine: Engine) -> None:
    """After a reuse, the newest token of that session is refused too, and the session is marked revoked."""
    first = register(harness).session
    newest = refresh(harness, first.refresh_token)[0].session
    refresh(harness, first.refresh_token)
    _, code, _ = refresh(harness, newest.refresh_token)
    assert code == grpc.StatusCode.UNAUTHENTICATED
    with engine.connect() as conn:
        reason = conn.scalar(select(SessionRow.revoke_reason).where(SessionRow.id == first.session_id))
    assert reason == "refresh token reuse"


def test_reuse_leaves_other_sessions_alone(harness: AsyncServicerHarness) -> None:
    """Revoking one family does not end the user's other sessions."""
    first = register(harness).session
    other = login(harness).session
    refresh(harness, first.refresh_token)
    refresh(harness, first.refresh_token)
    assert refresh(harness, other.refresh_token)[1] == grpc.StatusCode.OK


def test_unknown_refresh_token_is_unauthenticated(harness: AsyncServicerHarness) -> None:
    """A refresh token the service never issued is UNAUTHENTICATED."""
    register(harness)
    _, code, details = refresh(harness, "not-a-token-we-issued")
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "unknown refresh token" in details


def test_empty_refresh_token_is_unauthenticated(harness: AsyncServicerHarness) -> None:
    """Refresh without a token is UNAUTHENTICATED."""
    assert refresh(harness, "")[1] == grpc.StatusCode.UNAUTHENTICATED


def test_expired_refresh_token_is_unauthenticated(harness: AsyncServicerHarness, engine: Engine) -> None:
    """A refresh token past its expires_at is UNAUTHENTICATED, and it does not count as used."""
    session = register(harness).session
    with engine.begin() as conn:
        conn.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == token_hash(session.refresh_token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    _, code, details = refresh(harness, session.refresh_token)
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "expired" in details
    with engine.connect() as conn:
        used_at = conn.scalar(select(RefreshToken.used_at))
        revoked_at = conn.scalar(select(SessionRow.revoked_at))
    assert used_at is None
    assert revoked_at is None


def test_refresh_token_expiry_follows_the_setting(harness: AsyncServicerHarness) -> None:
    """The refresh token expires refresh_token_ttl_seconds (30 days by default) after it is issued."""
    session = register(harness).session
    lifetime = session.refresh_token_expires_at.ToDatetime() - utcnow()
    assert timedelta(days=30) - timedelta(minutes=1) < lifetime <= timedelta(days=30)


# -- Logout -----------------------------------------------------------------------------------------


def test_logout_ends_the_session(harness: AsyncServicerHarness) -> None:
    """After Logout, the session's refresh token is refused."""
    session = register(harness).session
    assert _logout(harness, session.refresh_token)[0] == grpc.StatusCode.OK
    _, code, details = refresh(harness, session.refresh_token)
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "session ended" in details


def test_logout_names_the_session_it_ended(harness: AsyncServicerHarness) -> None:
    """Logout answers the ended session's id (so a gateway can close its sockets); unknown gives ""."""
    session = register(harness).session
    response, code, _ = harness.invoke_unary("Logout", pb.LogoutRequest(refresh_token=session.refresh_token))
    assert code == grpc.StatusCode.OK and response.session_id == session.session_id
    unknown, _, _ = harness.invoke_unary("Logout", pb.LogoutRequest(refresh_token="never-issued"))
    assert unknown.session_id == ""


def test_logout_is_idempotent(harness: AsyncServicerHarness) -> None:
    """Logging out twice with the same token is OK both times."""
    session = register(harness).session
    assert _logout(harness, session.refresh_token)[0] == grpc.StatusCode.OK
    assert _logout(harness, session.refresh_token)[0] == grpc.StatusCode.OK


def test_logout_with_unknown_token_is_ok(harness: AsyncServicerHarness) -> None:
    """Logout with a token the service never issued is OK (nothing to end)."""
    assert _logout(harness, "never-issued")[0] == grpc.StatusCode.OK


def test_logout_with_empty_token_is_invalid_argument(harness: AsyncServicerHarness) -> None:
    """Logout without any token is INVALID_ARGUMENT."""
    assert _logout(harness, "")[0] == grpc.StatusCode.INVALID_ARGUMENT


def test_logout_with_an_older_token_of_the_session(harness: AsyncServicerHarness) -> None:
    """Any refresh token of the session, even a rotated one, ends it."""
    first = register(harness).session
    newest = refresh(harness, first.refresh_token)[0].session
    assert _logout(harness, first.refresh_token)[0] == grpc.StatusCode.OK
    assert refresh(harness, newest.refresh_token)[1] == grpc.StatusCode.UNAUTHENTICATED


def test_logout_leaves_other_sessions_alone(harness: AsyncServicerHarness) -> None:
    """Logging out of one session keeps the user's other sessions working."""
    first = register(harness).session
    other = login(harness).session
    _logout(harness, first.refresh_token)
    assert refresh(harness, other.refresh_token)[1] == grpc.StatusCode.OK


async def test_concurrent_refresh_of_one_token_has_one_winner(auth_settings: AuthSettings) -> None:
    """Five simultaneous refreshes of one token on SQLite: exactly one wins, the rest are Unauthenticated."""
    migrate(auth_settings)
    db = Database(auth_settings.database_url, threads=5)
    try:
        accounts = build_servicers(auth_settings, db)[0].accounts
        _, tokens = await accounts.register("alice", PASSWORD, "")
        results = await asyncio.gather(
            *(accounts.refresh(tokens.refresh_token) for _ in range(5)), return_exceptions=True
        )
    finally:
        db.close()
    assert sorted(type(r).__name__ for r in results) == ["Unauthenticated"] * 4 + ["tuple"]
