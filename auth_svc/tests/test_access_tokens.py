"""Access tokens that must not get in: each one is UNAUTHENTICATED on GetUser (SQLite, grpcio-testing)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auth_svc.keys import Keyring
from auth_svc.settings import AuthSettings
from auth_svc.tests.helpers import get_user, register
from parley.auth.v1 import auth_pb2 as pb
from tests.support.grpc_testing_adapter import AsyncServicerHarness


def _claims(settings: AuthSettings, user_id: int, **changes: Any) -> dict[str, Any]:
    """Claims like the service's own, with some changed (None removes a claim)."""
    now = int(time.time())
    claims = {
        "iss": settings.issuer,
        "aud": settings.audience,
        "sub": str(user_id),
        "sid": "a" * 32,
        "name": "alice",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _refused(harness: AsyncServicerHarness, token: str) -> str:
    """GetUser with this token; asserts UNAUTHENTICATED and answers the message."""
    _, code, details = get_user(harness, token)
    assert code == grpc.StatusCode.UNAUTHENTICATED, details
    return details


def test_a_token_signed_by_the_real_key_gets_in(
    harness: AsyncServicerHarness, keyring: Keyring, auth_settings: AuthSettings
) -> None:
    """The baseline for this module: well-formed claims signed by the real key are accepted."""
    user = register(harness).user
    _, code, details = get_user(harness, keyring.sign(_claims(auth_settings, user.id)))
    assert code == grpc.StatusCode.OK, details


def test_forged_signature_with_the_real_key_id(
    harness: AsyncServicerHarness, keyring: Keyring, auth_settings: AuthSettings
) -> None:
    """A token signed by another Ed25519 key under the real key id is refused."""
    user = register(harness).user
    forger = Ed25519PrivateKey.generate()
    token = jwt.encode(
        _claims(auth_settings, user.id), forger, algorithm="EdDSA", headers={"kid": keyring.active.key_id}
    )
    assert _refused(harness, token) == "invalid access token"


def test_tampered_claims(harness: AsyncServicerHarness, keyring: Keyring, auth_settings: AuthSettings) -> None:
    """A real token whose payload was swapped for another user's is refused."""
    alice = register(harness, "alice").user
    bob = register(harness, "bob").user
    header, _, signature = keyring.sign(_claims(auth_settings, alice.id)).split(".")
    other_payload = keyring.sign(_claims(auth_settings, bob.id)).split(".")[1]
    _refused(harness, f"{header}.{other_payload}.{signature}")


def test_expired_access_token(harness: AsyncServicerHarness, keyring: Keyring, auth_settings: AuthSettings) -> None:
    """A token whose exp is past (beyond the leeway) is refused and told to refresh."""
    user = register(harness).user
    now = int(time.time())
    token = keyring.sign(_claims(auth_settings, user.id, iat=now - 1200, exp=now - 600))
    assert "expired" in _refused(harness, token)


@pytest.mark.parametrize(
    "changes",
    [{"aud": "someone-else"}, {"iss": "another-issuer"}],
    ids=["wrong audience", "wrong issuer"],
)
def test_wrong_audience_or_issuer(
    harness: AsyncServicerHarness, keyring: Keyring, auth_settings: AuthSettings, changes: dict[str, str]
) -> None:
    """A real signature over the wrong audience or issuer is refused."""
    user = register(harness).user
    _refused(harness, keyring.sign(_claims(auth_settings, user.id, **changes)))


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "iss", "aud", "sid"])
def test_missing_required_claim(
    harness: AsyncServicerHarness, keyring: Keyring, auth_settings: AuthSettings, missing: str
) -> None:
    """A real signature over claims that lack a required claim is refused."""
    user = register(harness).user
    _refused(harness, keyring.sign(_claims(auth_settings, user.id, **{missing: None})))


def test_alg_none(harness: AsyncServicerHarness, keyring: Keyring, auth_settings: AuthSettings) -> None:
    """An unsigned token (alg none) is refused."""
    user = register(harness).user
    token = jwt.encode(_claims(auth_settings, user.id), "", algorithm="none", headers={"kid": keyring.active.key_id})
    assert "unexpected algorithm" in _refused(harness, token)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_alg_hs256_keyed_with_the_public_key(
    harness: AsyncServicerHarness, keyring: Keyring, auth_settings: AuthSettings
) -> None:
    """An HS256 token whose HMAC key is the public PEM (algorithm confusion) is refused."""
    user = register(harness).user
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": keyring.active.key_id}).encode())
    payload = _b64(json.dumps(_claims(auth_settings, user.id)).encode())
    mac = hmac.new(keyring.active.public_pem.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert "unexpected algorithm" in _refused(harness, f"{header}.{payload}.{_b64(mac)}")


def test_unknown_key_id(harness: AsyncServicerHarness, keyring: Keyring, auth_settings: AuthSettings) -> None:
    """A token naming a key id the service does not have is refused."""
    user = register(harness).user
    token = jwt.encode(
        _claims(auth_settings, user.id), keyring.active.private_key, algorithm="EdDSA", headers={"kid": "no-such-key"}
    )
    assert "unknown key" in _refused(harness, token)


def test_no_key_id(harness: AsyncServicerHarness, keyring: Keyring, auth_settings: AuthSettings) -> None:
    """A token without a kid header is refused."""
    user = register(harness).user
    token = jwt.encode(_claims(auth_settings, user.id), keyring.active.private_key, algorithm="EdDSA")
    _refused(harness, token)


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "", "....", "eyJhbGciOiJFZERTQSJ9"])
def test_garbage_token(harness: AsyncServicerHarness, token: str) -> None:
    """Strings that are not JWTs at all are refused."""
    register(harness)
    _, code, _ = harness.invoke_unary(
        "GetUser", pb.GetUserRequest(username="alice"), metadata=(("authorization", f"Bearer {token}"),)
    )
    assert code == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("value", ["Basic xyz", "Token abc", "Bearer", "Bearer    "])
def test_authorization_that_is_not_bearer(harness: AsyncServicerHarness, value: str) -> None:
    """An authorization entry that is not 'Bearer <token>' is refused and says the expected form."""
    session = register(harness).session
    _, code, details = harness.invoke_unary(
        "GetUser", pb.GetUserRequest(username="alice"), metadata=(("authorization", value),)
    )
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "Bearer <access token>" in details
    assert session.access_token  # a valid token existed; the form alone was wrong
