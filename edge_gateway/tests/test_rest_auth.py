"""REST /auth and /users end to end: sessions, credentials, tokens and user lookups."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from grpc import aio

from auth_svc.keys import Keyring
from edge_gateway.settings import GatewaySettings
from edge_gateway.tests.conftest import PASSWORD, GatewayStack, NewUser
from parley.auth.v1 import auth_pb2, auth_pb2_grpc
from tests.support.stack import GATEWAY

pytestmark = pytest.mark.mysql

SESSION_KEYS = {"access_token", "access_token_expires_at", "refresh_token", "refresh_token_expires_at", "session_id"}


def _name(prefix: str = "user") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


async def _sign_up(api: httpx.AsyncClient, prefix: str = "user") -> dict[str, Any]:
    response = await api.post("/auth/register", json={"username": _name(prefix), "password": PASSWORD})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _claims(sub: str, expires_in: int) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": "parley-auth", "aud": "parley", "sub": sub, "sid": "s", "iat": now - 600, "exp": now + expires_in}


def _assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"} | (
        {"retry_after_ms"} if status == 429 else set()
    )
    assert body["error"]["code"] == code
    message: str = body["error"]["message"]
    return message


# -- register, login, refresh, logout -------------------------------------------------------------


async def test_register_answers_201_with_user_and_session(api: httpx.AsyncClient) -> None:
    """Registering answers 201 with the new user (display name defaulting to the username) and a session."""
    name = _name("Reg")
    response = await api.post("/auth/register", json={"username": name, "password": PASSWORD})
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["username"] == name.lower() and body["user"]["display_name"] == name.lower()
    assert set(body["session"]) == SESSION_KEYS


async def test_login_opens_a_new_session_for_the_same_user(api: httpx.AsyncClient) -> None:
    """Logging in (any case) returns the registered user and a session other than the first one."""
    first = await _sign_up(api)
    username = first["user"]["username"]
    response = await api.post("/auth/login", json={"username": username.upper(), "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == first["user"]
    assert body["session"]["session_id"] != first["session"]["session_id"]


async def test_refresh_rotates_the_tokens_of_the_same_session(api: httpx.AsyncClient) -> None:
    """Refresh answers new tokens with the same session id, and the new access token works."""
    first = await _sign_up(api)
    response = await api.post("/auth/refresh", json={"refresh_token": first["session"]["refresh_token"]})
    assert response.status_code == 200
    session = response.json()["session"]
    assert session["session_id"] == first["session"]["session_id"]
    assert session["refresh_token"] != first["session"]["refresh_token"]
    me = await api.get("/users/me", headers={"Authorization": f"Bearer {session['access_token']}"})
    assert me.json()["id"] == first["user"]["id"]


async def test_reused_refresh_token_is_refused_with_401(api: httpx.AsyncClient) -> None:
    """Presenting a refresh token a second time answers 401 with the error shape."""
    first = await _sign_up(api)
    spent = first["session"]["refresh_token"]
    assert (await api.post("/auth/refresh", json={"refresh_token": spent})).status_code == 200
    message = _assert_error(await api.post("/auth/refresh", json={"refresh_token": spent}), 401, "unauthenticated")
    assert "already used" in message


async def test_refresh_token_reuse_revokes_the_whole_session(api: httpx.AsyncClient) -> None:
    """After a reuse, even the newest refresh token of that session is refused."""
    first = await _sign_up(api)
    spent = first["session"]["refresh_token"]
    newest = (await api.post("/auth/refresh", json={"refresh_token": spent})).json()["session"]["refresh_token"]
    await api.post("/auth/refresh", json={"refresh_token": spent})
    _assert_error(await api.post("/auth/refresh", json={"refresh_token": newest}), 401, "unauthenticated")


async def test_logout_answers_204_and_ends_the_session(api: httpx.AsyncClient) -> None:
    """Logout answers 204 with no body; the session's refresh token stops working."""
    first = await _sign_up(api)
    token = first["session"]["refresh_token"]
    response = await api.post("/auth/logout", json={"refresh_token": token})
    assert response.status_code == 204 and response.content == b""
    _assert_error(await api.post("/auth/refresh", json={"refresh_token": token}), 401, "unauthenticated")


async def test_logout_with_an_unknown_token_is_still_204(api: httpx.AsyncClient) -> None:
    """Logout is idempotent: an unknown refresh token answers 204 too."""
    response = await api.post("/auth/logout", json={"refresh_token": "not-a-token"})
    assert response.status_code == 204


async def test_wrong_password_and_unknown_user_get_the_same_401(api: httpx.AsyncClient) -> None:
    """A wrong password and an unknown username answer the same 401 message."""
    known = (await _sign_up(api))["user"]["username"]
    wrong = await api.post("/auth/login", json={"username": known, "password": "not the password"})
    unknown = await api.post("/auth/login", json={"username": _name("ghost"), "password": PASSWORD})
    assert _assert_error(wrong, 401, "unauthenticated") == _assert_error(unknown, 401, "unauthenticated")


async def test_taken_username_is_409(api: httpx.AsyncClient) -> None:
    """Registering a taken username (in another case) answers 409 already_exists."""
    taken = (await _sign_up(api))["user"]["username"]
    response = await api.post("/auth/register", json={"username": taken.upper(), "password": PASSWORD})
    _assert_error(response, 409, "already_exists")


async def test_invalid_username_is_400_with_the_service_message(api: httpx.AsyncClient) -> None:
    """A username that breaks auth_svc's rule answers 400 with auth_svc's own explanation."""
    response = await api.post("/auth/register", json={"username": "no spaces allowed", "password": PASSWORD})
    assert "3-32 characters" in _assert_error(response, 400, "invalid_argument")


async def test_register_without_password_is_422(api: httpx.AsyncClient) -> None:
    """A register body missing a field answers 422 naming the field, in the error shape."""
    response = await api.post("/auth/register", json={"username": _name()})
    assert "password" in _assert_error(response, 422, "invalid_argument")


# -- access tokens ---------------------------------------------------------------------------------


async def test_users_me_without_a_token_is_401(api: httpx.AsyncClient) -> None:
    """A route that needs a user answers 401 without an Authorization header."""
    _assert_error(await api.get("/users/me"), 401, "unauthenticated")


async def test_users_me_with_a_garbage_token_is_401(api: httpx.AsyncClient) -> None:
    """A token that is not a JWT answers 401."""
    response = await api.get("/users/me", headers={"Authorization": "Bearer not.a.jwt"})
    _assert_error(response, 401, "unauthenticated")


async def test_users_me_with_a_forged_token_is_401(api: httpx.AsyncClient, stack: GatewayStack) -> None:
    """A token naming auth_svc's real key id but signed with another key answers 401."""
    async with aio.insecure_channel(stack.auth_address) as channel:
        keys = await auth_pb2_grpc.AuthServiceStub(channel).GetPublicKeys(auth_pb2.GetPublicKeysRequest(), timeout=5)
    kid = next(key.key_id for key in keys.keys if key.active)
    forged = jwt.encode(_claims("1", 300), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid})
    response = await api.get("/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert _assert_error(response, 401, "unauthenticated") == "invalid access token"


async def test_users_me_with_an_expired_token_is_401(api: httpx.AsyncClient, stack: GatewayStack) -> None:
    """A genuine but expired access token answers 401 saying to refresh."""
    user = (await _sign_up(api))["user"]
    expired = Keyring.load(stack.keys_dir).sign(_claims(str(user["id"]), -300))
    response = await api.get("/users/me", headers={"Authorization": f"Bearer {expired}"})
    assert "expired" in _assert_error(response, 401, "unauthenticated")


# -- users -----------------------------------------------------------------------------------------


async def test_users_me_is_the_caller(new_user: NewUser) -> None:
    """GET /users/me answers the user behind the access token."""
    alice, client = await new_user("alice")
    response = await client.get("/users/me")
    assert response.status_code == 200 and response.json() == alice


async def test_user_by_id(new_user: NewUser) -> None:
    """GET /users/{id} answers that user."""
    bob, _ = await new_user("bob")
    _, alice = await new_user("alice")
    assert (await alice.get(f"/users/{bob['id']}")).json() == bob


async def test_user_by_username_in_any_case(new_user: NewUser) -> None:
    """GET /users/by-username/{name} finds the user whatever the case."""
    bob, _ = await new_user("bob")
    _, alice = await new_user("alice")
    assert (await alice.get(f"/users/by-username/{bob['username'].upper()}")).json() == bob


async def test_unknown_user_is_404(new_user: NewUser) -> None:
    """Looking up a user id nobody has answers 404 not_found."""
    _, alice = await new_user("alice")
    _assert_error(await alice.get("/users/999999999"), 404, "not_found")


async def test_non_positive_user_id_is_422(new_user: NewUser) -> None:
    """A user id of 0 is refused by the gateway's path validation with 422."""
    _, alice = await new_user("alice")
    _assert_error(await alice.get("/users/0"), 422, "invalid_argument")


async def test_batch_lookup_leaves_unknown_ids_out(new_user: NewUser) -> None:
    """GET /users?ids=...&ids=... answers the known users in ascending id order."""
    alice, client = await new_user("alice")
    bob, _ = await new_user("bob")
    response = await client.get("/users", params=[("ids", bob["id"]), ("ids", 999999999), ("ids", alice["id"])])
    assert response.status_code == 200 and response.json() == {"users": [alice, bob]}


async def test_a_throttled_sign_in_is_429_with_retry_after(api: httpx.AsyncClient) -> None:
    """After the free failed attempts, sign-in answers 429 with Retry-After in seconds (exposed to the browser)."""
    known = (await _sign_up(api))["user"]["username"]
    for _ in range(3):
        await api.post("/auth/login", json={"username": known, "password": "not the password"})
    response = await api.post("/auth/login", json={"username": known, "password": PASSWORD})
    assert "try again in" in _assert_error(response, 429, "resource_exhausted")
    assert response.headers["retry-after"] == "1"
    assert 0 < response.json()["error"]["retry_after_ms"] <= 1000


async def test_logouts_access_token_is_refused_at_once(api: httpx.AsyncClient, as_user: Any) -> None:
    """After logout the session's access token, still unexpired, answers 401 on REST."""
    session = (await _sign_up(api))["session"]
    me = as_user(session["access_token"])
    assert (await me.get("/users/me")).status_code == 200
    await api.post("/auth/logout", json={"refresh_token": session["refresh_token"]})
    assert "session has ended" in _assert_error(await me.get("/users/me"), 401, "unauthenticated")


async def test_a_reused_sessions_access_token_is_refused(api: httpx.AsyncClient, as_user: Any) -> None:
    """After a refresh-token reuse, the session's newest access token is refused once the gateway hears of it."""
    first = (await _sign_up(api))["session"]
    newest = (await api.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()["session"]
    me = as_user(newest["access_token"])
    assert (await me.get("/users/me")).status_code == 200
    await api.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})  # the reuse
    statuses = []
    for _ in range(100):  # the poll interval (2 s) without a broker; each try 0.1 s apart
        statuses.append((await me.get("/users/me")).status_code)
        if statuses[-1] != 200:
            break
        await asyncio.sleep(0.1)
    assert statuses[-1] == 401


# -- the client address behind a proxy ------------------------------------------------------------


@pytest.fixture(scope="module")
def proxied_url(stack: GatewayStack) -> Iterator[str]:
    """/api/v1 of a second gateway of the stack that trusts 127.0.0.1 as its proxy (GATEWAY_TRUSTED_PROXIES)."""
    process = stack.start(GATEWAY, {"GATEWAY_TRUSTED_PROXIES": '["127.0.0.1"]'})
    try:
        yield f"http://{process.address}/api/v1"
    finally:
        process.stop()
        stack.processes[GATEWAY].remove(process)


@pytest.fixture
async def proxied(proxied_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway behind the (pretended) proxy."""
    async with httpx.AsyncClient(base_url=proxied_url, timeout=10) as client:
        yield client


async def _fail_three_times_from(api: httpx.AsyncClient, address: str) -> str:
    """A new user's name after three wrong passwords "from" address (the pair's free attempts)."""
    known = (await _sign_up(api))["user"]["username"]
    for _ in range(3):
        await api.post(
            "/auth/login", json={"username": known, "password": "wrong"}, headers={"X-Forwarded-For": address}
        )
    return known


async def _login_from(api: httpx.AsyncClient, username: str, address: str) -> int:
    response = await api.post(
        "/auth/login", json={"username": username, "password": PASSWORD}, headers={"X-Forwarded-For": address}
    )
    return response.status_code


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(api: httpx.AsyncClient) -> None:
    """Without trusted proxies a client cannot pick its address: another X-Forwarded-For is still throttled."""
    known = await _fail_three_times_from(api, "203.0.113.1")
    assert await _login_from(api, known, "203.0.113.2") == 429


async def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(proxied: httpx.AsyncClient) -> None:
    """Behind a trusted proxy the forwarded address is the client's: the throttle holds for it, not for others."""
    known = await _fail_three_times_from(proxied, "203.0.113.1")
    assert await _login_from(proxied, known, "203.0.113.1") == 429
    assert await _login_from(proxied, known, "203.0.113.2") == 200


@pytest.mark.parametrize("entry", ["*", "10.0.0.0/33", "proxy.internal", "10.0.0.1 "])
def test_a_trusted_proxy_must_be_an_address_or_cidr(entry: str) -> None:
    """GATEWAY_TRUSTED_PROXIES refuses '*' and anything that is not an IP or CIDR (uvicorn would match nothing)."""
    with pytest.raises(ValueError, match="GATEWAY_TRUSTED_PROXIES"):
        GatewaySettings(client_secret="a-proxies-test-secret-0123", trusted_proxies=[entry])
