"""Token verification: bearer metadata, key sources (static and fetched), and the verifier's checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from common.errors import PermissionDenied, Unauthenticated, Unavailable
from common.tokens import (
    FetchingKeySource,
    Principal,
    StaticKeySource,
    TokenExpired,
    TokenVerifier,
    auth_metadata,
    bearer_token,
    load_public_key,
)


def _pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


# -- bearer_token -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "token"),
    [
        ((("authorization", "Bearer abc.def.ghi"),), "abc.def.ghi"),
        ((("authorization", "bearer abc"),), "abc"),
        ((("authorization", "BEARER abc"),), "abc"),
        ((("Authorization", "Bearer abc"),), "abc"),
        ((("authorization", b"Bearer abc"),), "abc"),
        ((("authorization", "Bearer   abc  "),), "abc"),
        ((("x-request-id", "r1"), ("authorization", "Bearer abc")), "abc"),
    ],
    ids=["plain", "lower-case scheme", "upper-case scheme", "capitalised key", "bytes", "extra spaces", "among others"],
)
def test_bearer_token_is_found(metadata: Sequence[tuple[str, str | bytes]], token: str) -> None:
    """The token of an `authorization: Bearer <token>` entry is returned, trimmed."""
    assert bearer_token(metadata) == token


@pytest.mark.parametrize("value", ["Basic xyz", "Token abc", "Bearer", "Bearer   ", "Bearerabc", ""], ids=repr)
def test_malformed_authorization_is_unauthenticated(value: str) -> None:
    """An authorization entry that is not 'Bearer <token>' is Unauthenticated and says the expected form."""
    with pytest.raises(Unauthenticated, match="Bearer <access token>"):
        bearer_token((("authorization", value),))


@pytest.mark.parametrize("metadata", [None, (), (("x-request-id", "r1"),)], ids=["None", "empty", "other keys"])
def test_missing_authorization_is_unauthenticated(metadata: Sequence[tuple[str, str]] | None) -> None:
    """No authorization entry at all is Unauthenticated, saying what to send."""
    with pytest.raises(Unauthenticated, match="missing authorization"):
        bearer_token(metadata)


def test_auth_metadata_round_trips() -> None:
    """auth_metadata() builds the entry that bearer_token() reads."""
    assert bearer_token(auth_metadata("tok")) == "tok"


# -- Principal ---------------------------------------------------------------------------------------


def test_user_principal() -> None:
    """A numeric subject is a user, and user_id is that number."""
    principal = Principal(subject="42", session_id="s", expires_at=0.0)
    assert not principal.is_service
    assert principal.user_id == 42


def test_service_principal_has_no_user_id() -> None:
    """A service:<name> subject is a service, and asking for its user_id is PermissionDenied."""
    principal = Principal(subject="service:edge_gateway", session_id="service", expires_at=0.0)
    assert principal.is_service
    with pytest.raises(PermissionDenied):
        _ = principal.user_id


# -- load_public_key ---------------------------------------------------------------------------------


def test_load_public_key_refuses_other_key_types() -> None:
    """An RSA public key PEM is refused: only Ed25519 verifies access tokens."""
    rsa_pem = (
        generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ValueError, match="Ed25519"):
        load_public_key(rsa_pem)


# -- FetchingKeySource -------------------------------------------------------------------------------


class FakeKeyService:
    """Answers the current keys as (key_id, pem) pairs and counts how often it was asked."""

    def __init__(self, **keys: Ed25519PrivateKey) -> None:
        self.keys = dict(keys)
        self.calls = 0
        self.fail = False

    async def fetch(self) -> list[tuple[str, str]]:
        self.calls += 1
        await asyncio.sleep(0)
        if self.fail:
            raise ConnectionError("auth_svc is down")
        return [(kid, _pem(key)) for kid, key in self.keys.items()]


async def test_fetches_once_and_caches() -> None:
    """The first lookup fetches; later lookups of known ids use the cache."""
    k1 = Ed25519PrivateKey.generate()
    service = FakeKeyService(k1=k1)
    source = FetchingKeySource(service.fetch)
    for _ in range(5):
        key = await source.get("k1")
        assert key is not None
        assert _pem_of(key) == _pem(k1)
    assert service.calls == 1


def _pem_of(public: Any) -> str:
    return public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


async def test_unknown_key_id_triggers_a_refetch() -> None:
    """A key id that appeared after the first fetch (a rotation) is found by fetching again."""
    service = FakeKeyService(k1=Ed25519PrivateKey.generate())
    source = FetchingKeySource(service.fetch, refetch_interval=0.0)
    await source.get("k1")
    service.keys["k2"] = Ed25519PrivateKey.generate()
    assert await source.get("k2") is not None
    assert service.calls == 2


async def test_refetch_at_most_once_per_interval() -> None:
    """A flood of unknown key ids within refetch_interval causes one refetch at most."""
    service = FakeKeyService(k1=Ed25519PrivateKey.generate())
    source = FetchingKeySource(service.fetch, refetch_interval=60.0)
    await source.get("k1")
    for i in range(20):
        assert await source.get(f"forged-{i}") is None
    assert service.calls == 1


async def test_refetch_allowed_again_after_the_interval() -> None:
    """Once refetch_interval has passed, an unknown key id fetches again."""
    service = FakeKeyService(k1=Ed25519PrivateKey.generate())
    source = FetchingKeySource(service.fetch, refetch_interval=0.05)
    await source.get("k1")
    assert await source.get("k2") is None
    service.keys["k2"] = Ed25519PrivateKey.generate()
    await asyncio.sleep(0.06)
    assert await source.get("k2") is not None
    assert service.calls == 2


async def test_concurrent_lookups_share_one_fetch() -> None:
    """Many simultaneous lookups of an unknown id wait for one fetch instead of each fetching."""
    service = FakeKeyService(k1=Ed25519PrivateKey.generate())
    source = FetchingKeySource(service.fetch)
    keys = await asyncio.gather(*(source.get("k1") for _ in range(10)))
    assert all(k is not None for k in keys)
    assert service.calls == 1


async def test_failing_fetch_is_unavailable() -> None:
    """When the key service cannot be reached, verification fails as Unavailable (retry), not a crash."""
    service = FakeKeyService(k1=Ed25519PrivateKey.generate())
    service.fail = True
    source = FetchingKeySource(service.fetch)
    with pytest.raises(Unavailable, match="unreachable"):
        await source.get("k1")


async def test_failed_fetch_is_retried_within_a_second() -> None:
    """A failed fetch does not block the next one for the whole refetch interval."""
    service = FakeKeyService(k1=Ed25519PrivateKey.generate())
    service.fail = True
    source = FetchingKeySource(service.fetch, refetch_interval=30.0)
    with pytest.raises(Unavailable):
        await source.get("k1")
    service.fail = False
    await asyncio.sleep(1.05)
    assert await source.get("k1") is not None


async def test_bad_key_in_the_answer_is_skipped() -> None:
    """A key the service lists that is not Ed25519 is ignored; the good ones still verify."""
    service = FakeKeyService(k1=Ed25519PrivateKey.generate())
    real_fetch = service.fetch

    async def fetch_with_junk() -> list[tuple[str, str]]:
        return [*await real_fetch(), ("junk", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")]

    source = FetchingKeySource(fetch_with_junk)
    assert await source.get("k1") is not None
    assert await source.get("junk") is None


async def test_refetch_drops_removed_keys() -> None:
    """A refetch replaces the cache: a key the service no longer lists stops verifying."""
    service = FakeKeyService(k1=Ed25519PrivateKey.generate())
    source = FetchingKeySource(service.fetch, refetch_interval=0.0)
    await source.get("k1")
    service.keys = {"k2": Ed25519PrivateKey.generate()}
    await source.get("k2")
    assert await source.get("k1") is None


# -- TokenVerifier -----------------------------------------------------------------------------------

ISSUER, AUDIENCE = "parley-auth", "parley"


def _sign(key: Ed25519PrivateKey, kid: str = "k1", **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "7", "sid": "s7", "name": "gina", "iat": now, "exp": now + 60}
    claims.update(changes)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="EdDSA", headers={"kid": kid})


@pytest.fixture
def signer() -> Ed25519PrivateKey:
    """The private key behind key id k1."""
    return Ed25519PrivateKey.generate()


@pytest.fixture
def verifier(signer: Ed25519PrivateKey) -> TokenVerifier:
    """A verifier that knows k1 only."""
    return TokenVerifier(StaticKeySource({"k1": signer.public_key()}), ISSUER, AUDIENCE)


async def test_valid_token_gives_its_principal(signer: Ed25519PrivateKey, verifier: TokenVerifier) -> None:
    """A good token yields subject, session id, expiry and username from its claims."""
    principal = await verifier.verify(_sign(signer, exp=2_000_000_000))
    assert principal == Principal(subject="7", session_id="s7", expires_at=2_000_000_000.0, username="gina")


async def test_expiry_within_the_leeway_is_accepted(signer: Ed25519PrivateKey, verifier: TokenVerifier) -> None:
    """A token expired 2 s ago passes the default 5 s clock leeway."""
    assert (await verifier.verify(_sign(signer, exp=int(time.time()) - 2))).subject == "7"


async def test_expiry_beyond_the_leeway_is_refused(signer: Ed25519PrivateKey, verifier: TokenVerifier) -> None:
    """A token expired 30 s ago is Unauthenticated, of its own kind TokenExpired, and told to refresh."""
    with pytest.raises(TokenExpired, match="expired") as caught:
        await verifier.verify(_sign(signer, exp=int(time.time()) - 30))
    assert isinstance(caught.value, Unauthenticated)


@pytest.mark.parametrize(
    "changes",
    [{"iss": "elsewhere"}, {"aud": "other-app"}, {"sid": None}, {"sub": None}, {"iat": None}, {"exp": None}],
    ids=["issuer", "audience", "no sid", "no sub", "no iat", "no exp"],
)
async def test_bad_claims_are_refused(
    signer: Ed25519PrivateKey, verifier: TokenVerifier, changes: dict[str, Any]
) -> None:
    """A properly signed token with the wrong issuer or audience, or a missing claim, is Unauthenticated."""
    with pytest.raises(Unauthenticated, match="invalid access token"):
        await verifier.verify(_sign(signer, **changes))


async def test_other_key_under_known_id_is_refused(verifier: TokenVerifier) -> None:
    """A signature by another key under the known key id is Unauthenticated."""
    with pytest.raises(Unauthenticated, match="invalid access token"):
        await verifier.verify(_sign(Ed25519PrivateKey.generate()))


async def test_unknown_key_id_is_refused(signer: Ed25519PrivateKey, verifier: TokenVerifier) -> None:
    """A token naming a key id the source does not have is Unauthenticated."""
    with pytest.raises(Unauthenticated, match="unknown key"):
        await verifier.verify(_sign(signer, kid="k9"))


async def test_unsigned_token_is_refused(verifier: TokenVerifier) -> None:
    """An alg=none token is refused before any key is looked up."""
    token = jwt.encode({"sub": "7"}, "", algorithm="none", headers={"kid": "k1"})
    with pytest.raises(Unauthenticated, match="unexpected algorithm"):
        await verifier.verify(token)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "e30.e30.e30"], ids=repr)
async def test_malformed_token_is_refused(verifier: TokenVerifier, token: str) -> None:
    """Strings that are not JWTs, or JWTs without alg and kid, are Unauthenticated."""
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)


async def test_verifier_with_fetching_source(signer: Ed25519PrivateKey) -> None:
    """End to end: a verifier over a FetchingKeySource accepts a token signed by a fetched key."""
    service = FakeKeyService(k1=signer)
    verifier = TokenVerifier(FetchingKeySource(service.fetch), ISSUER, AUDIENCE)
    assert (await verifier.verify(_sign(signer))).user_id == 7
