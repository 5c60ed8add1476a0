"""Access tokens: who is calling, and how every service checks it locally.

auth_svc signs short-lived JWTs with Ed25519 (alg EdDSA) and a key id. Other services verify them
with auth_svc's public keys, fetched over gRPC, cached, refreshed every `refresh_interval` (so a key
removed from auth_svc stops verifying without a restart), and fetched again when a token names a key
id they have not seen (key rotation) - at most once per `refetch_interval`, so a flood of forged key
ids cannot turn into a flood of calls to auth_svc. A token of an ended session (common/revocations.py)
is refused until it expires.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from common import logs
from common.errors import PermissionDenied, Unauthenticated, Unavailable
from common.revocations import RevokedSessions

log = logging.getLogger(__name__)

ALGORITHM = "EdDSA"
SERVICE_PREFIX = "service:"
# The operator APIs' scopes (AdminService, ModerationService): the token's space-separated `scope`
# claim. A service client gets them from AUTH_SERVICE_CLIENTS, an admin user with every token.
ADMIN_READ = "admin:read"
ADMIN_WRITE = "admin:write"
SCOPES = frozenset({ADMIN_READ, ADMIN_WRITE})


class TokenExpired(Unauthenticated):
    """A genuine access token whose time is up: the caller refreshes it rather than signing in again."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The verified caller: a user, or an internal service."""

    subject: str
    session_id: str
    expires_at: float
    username: str = ""
    scopes: frozenset[str] = frozenset()

    @property
    def is_service(self) -> bool:
        """True for service tokens (subject "service:<name>")."""
        return self.subject.startswith(SERVICE_PREFIX)

    @property
    def user_id(self) -> int:
        """The user's id; PermissionDenied for a service token."""
        if self.is_service:
            raise PermissionDenied("this call needs a user's access token, not a service token")
        return int(self.subject)

    @property
    def actor(self) -> str:
        """Who the audit log says did something: "user:<id>" or "service:<client>"."""
        return self.subject if self.is_service else f"user:{self.subject}"

    def require_scope(self, scope: str) -> None:
        """PermissionDenied unless the token carries the scope."""
        if scope not in self.scopes:
            raise PermissionDenied(f"this call needs a token with the {scope!r} scope")


class KeySource(Protocol):
    """Where verification keys come from."""

    async def get(self, key_id: str) -> Ed25519PublicKey | None:
        """The key for key_id, or None when no such key exists."""


def load_public_key(pem: str) -> Ed25519PublicKey:
    """Parse an Ed25519 SubjectPublicKeyInfo PEM."""
    key = load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


class StaticKeySource:
    """Keys known up front (auth_svc's own keyring, tests)."""

    def __init__(self, keys: Mapping[str, Ed25519PublicKey]) -> None:
        self._keys = dict(keys)

    async def get(self, key_id: str) -> Ed25519PublicKey | None:
        return self._keys.get(key_id)


class FetchingKeySource:
    """Keys fetched from auth_svc, cached, refreshed on a timer and on an unknown key id (rate-limited)."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Sequence[tuple[str, str]]]],
        refetch_interval: float = 30.0,
        refresh_interval: float = 300.0,
    ) -> None:
        self._fetch = fetch  # returns (key_id, public_key_pem) pairs
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._last_fetch = float("-inf")  # the last try
        self._fetched = float("-inf")  # the last success
        self._refetch_interval = refetch_interval
        self._refresh_interval = refresh_interval
        self._lock = asyncio.Lock()

    async def get(self, key_id: str) -> Ed25519PublicKey | None:
        now = time.monotonic()
        stale = now - self._fetched >= self._refresh_interval
        if key_id in self._keys and not stale:
            return self._keys[key_id]
        async with self._lock:
            now = time.monotonic()
            stale = now - self._fetched >= self._refresh_interval
            unknown = key_id not in self._keys and now - self._last_fetch >= self._refetch_interval
            if (stale and now - self._last_fetch >= min(1.0, self._refresh_interval)) or unknown:
                await self._refetch(now)
        return self._keys.get(key_id)

    async def _refetch(self, now: float) -> None:
        self._last_fetch = now
        try:
            pairs = await self._fetch()
        except Exception as exc:
            # Retry soon rather than after the full interval: auth_svc may just be starting.
            self._last_fetch -= self._refetch_interval - min(1.0, self._refetch_interval)
            if self._keys:  # keep verifying with the keys we have until auth_svc answers again
                log.warning("could not refresh the public keys: %s", exc)
                return
            raise Unavailable("cannot verify the token right now: key service unreachable") from exc
        keys = {}
        for kid, pem in pairs:
            try:
                keys[kid] = load_public_key(pem)
            except ValueError:
                log.warning("ignoring key %s: not an Ed25519 public key", kid)
        self._keys = keys
        self._fetched = time.monotonic()


class TokenVerifier:
    """Checks signature, key id, algorithm, issuer, audience and expiry of an access token."""

    CACHE_SIZE = 10_000

    def __init__(
        self,
        keys: KeySource,
        issuer: str,
        audience: str,
        leeway: float = 5.0,
        revoked: RevokedSessions | None = None,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self.revoked = revoked if revoked is not None else RevokedSessions()
        # Tokens already verified, with their key id: a client sends the same token with every call for
        # 15 minutes, and a signature check costs more than the rest of a SendMessage's CPU. Expiry, the
        # session's end and the key's presence (a dictionary lookup) are checked again on every call.
        self._verified: dict[str, tuple[Principal, str]] = {}

    async def verify(self, token: str) -> Principal:
        """The principal the token speaks for; Unauthenticated when it does not hold (or its session ended)."""
        known = self._verified.get(token)
        if known is not None:
            principal, key_id = known
            if time.time() > principal.expires_at + self._leeway or await self._keys.get(key_id) is None:
                del self._verified[token]
                known = None
        if known is None:
            principal, key_id = await self._verify(token)
            if len(self._verified) >= self.CACHE_SIZE:
                self._verified.clear()  # forgetting only costs a signature check
            self._verified[token] = (principal, key_id)
        if principal.session_id in self.revoked:
            raise Unauthenticated("this session has ended; sign in again")
        if not principal.is_service:
            logs.user_id.set(principal.user_id)  # the rest of this request's log lines name its user
        return principal

    async def _verify(self, token: str) -> tuple[Principal, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("malformed access token") from exc
        key_id = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(key_id, str):
            raise Unauthenticated("access token has an unexpected algorithm or no key id")
        key = await self._keys.get(key_id)
        if key is None:
            raise Unauthenticated("access token signed with an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud", "sid"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired("access token expired; refresh it") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("invalid access token") from exc
        principal = Principal(
            subject=str(claims["sub"]),
            session_id=str(claims["sid"]),
            expires_at=float(claims["exp"]),
            username=str(claims.get("name", "")),
            scopes=frozenset(str(claims.get("scope", "")).split()) & SCOPES,
        )
        return principal, key_id


def bearer_token(metadata: Sequence[tuple[str, str | bytes]] | None) -> str:
    """The token of the `authorization: Bearer ...` metadata entry; Unauthenticated when absent."""
    for key, value in metadata or ():
        if key.lower() == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            raise Unauthenticated("authorization metadata must be 'Bearer <access token>'")
    raise Unauthenticated("missing authorization metadata: send 'authorization: Bearer <access token>'")


def auth_metadata(token: str) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying an access token."""
    return (("authorization", f"Bearer {token}"),)
