"""The rules of accounts and sessions. No gRPC here: plain values in, plain values or errors out.

Methods are blocking (database, argon2) and are run on the Database's worker threads.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from auth_svc import passwords
from auth_svc.keys import Keyring
from auth_svc.models import RefreshToken, Session, User
from auth_svc.settings import AuthSettings
from common.db import Database
from common.errors import AlreadyExists, InvalidArgument, NotFound, ResourceExhausted, Unauthenticated
from common.limits import BATCH_USERS_MAX
from common.timestamps import utcnow
from common.tokens import SERVICE_PREFIX

BAD_CREDENTIALS = "wrong username or password"
MAX_BATCH = BATCH_USERS_MAX
_THROTTLE_PRUNE_AT = 10_000


@dataclass(frozen=True)
class UserInfo:
    """A user as callers see it (no password hash)."""

    id: int
    username: str
    display_name: str
    created_at: datetime


@dataclass(frozen=True)
class Tokens:
    """The tokens of one session."""

    access_token: str
    access_expires_at: float
    refresh_token: str
    refresh_expires_at: datetime
    session_id: str


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.username, user.display_name, user.created_at)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginThrottle:
    """Counts recent failed logins per username; too many lock the name out for a while.

    Kept in memory: per replica, and reset by a restart. Good enough to slow down guessing.
    """

    def __init__(self, max_failures: int, window_seconds: float) -> None:
        self._max = max_failures
        self._window = window_seconds
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def check(self, username: str) -> None:
        """ResourceExhausted when the username is locked out."""
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(username, []) if now - t < self._window]
            self._failures[username] = recent
            if len(recent) >= self._max:
                wait = int(self._window - (now - recent[0])) + 1
                raise ResourceExhausted(f"too many failed sign-ins for this username; try again in {wait}s")

    def failed(self, username: str) -> None:
        """Record a failure."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= _THROTTLE_PRUNE_AT:  # bound memory under random-name guessing
                self._failures = {
                    name: times for name, times in self._failures.items() if now - times[-1] < self._window
                }
            self._failures.setdefault(username, []).append(now)

    def succeeded(self, username: str) -> None:
        """Forget the failures of a username."""
        with self._lock:
            self._failures.pop(username, None)


class Accounts:
    """Registration, sign-in, refresh-token rotation, sign-out and user lookups."""

    def __init__(self, db: Database, keyring: Keyring, settings: AuthSettings) -> None:
        self.db = db
        self.keyring = keyring
        self.settings = settings
        self.throttle = LoginThrottle(settings.login_max_failures, settings.login_lockout_seconds)

    # -- accounts -------------------------------------------------------------------------------

    def register(self, username: str, password: str, display_name: str) -> tuple[UserInfo, Tokens]:
        """Create an account and a first session."""
        name = passwords.check_username(username)
        passwords.check_password(password, name)
        shown = passwords.check_display_name(display_name, name)
        password_hash = passwords.hasher.hash(password)
        try:
            with self.db.sessions.begin() as s:
                user = User(username=name, display_name=shown, password_hash=password_hash, created_at=utcnow())
                s.add(user)
                s.flush()
                info = _info(user)
                tokens = self._new_session(s, info)
        except IntegrityError as exc:
            raise AlreadyExists(f"username {name!r} is taken") from exc
        return info, tokens

    def login(self, username: str, password: str) -> tuple[UserInfo, Tokens]:
        """A new session for correct credentials; the same answer for unknown user and bad password."""
        name = passwords.normalize_username(username)
        self.throttle.check(name)
        with self.db.sessions() as s:
            user = s.scalar(select(User).where(User.username == name))
        if user is None:
            passwords.hasher.verify(password, passwords.DUMMY_HASH)
            self.throttle.failed(name)
            raise Unauthenticated(BAD_CREDENTIALS)
        ok, new_hash = passwords.hasher.verify_and_update(password, user.password_hash)
        if not ok:
            self.throttle.failed(name)
            raise Unauthenticated(BAD_CREDENTIALS)
        self.throttle.succeeded(name)
        with self.db.sessions.begin() as s:
            if new_hash:  # parameters changed since the hash was made: upgrade it now
                s.execute(update(User).where(User.id == user.id).values(password_hash=new_hash))
            info = _info(user)
            return info, self._new_session(s, info)

    def get_user(self, user_id: int | None = None, username: str | None = None) -> UserInfo:
        """One user by id or by username."""
        with self.db.sessions() as s:
            if user_id is not None:
                user = s.get(User, user_id)
            elif username is not None:
                user = s.scalar(select(User).where(User.username == passwords.normalize_username(username)))
            else:
                raise InvalidArgument("give a user_id or a username")
        if user is None:
            raise NotFound("no such user")
        return _info(user)

    def batch_get_users(self, user_ids: Iterable[int], usernames: Iterable[str] = ()) -> list[UserInfo]:
        """The users with these ids or usernames (any case), ascending by id; unknown ones are left out."""
        wanted = sorted(set(user_ids))
        names = sorted({passwords.normalize_username(n) for n in usernames})
        if len(wanted) + len(names) > MAX_BATCH:
            raise InvalidArgument(f"ask for at most {MAX_BATCH} users at once")
        if not wanted and not names:
            return []
        with self.db.sessions() as s:
            found = select(User).where(or_(User.id.in_(wanted), User.username.in_(names))).order_by(User.id)
            users = s.scalars(found).all()
        return [_info(u) for u in users]

    # -- sessions -------------------------------------------------------------------------------

    def refresh(self, refresh_token: str) -> tuple[UserInfo, Tokens]:
        """Rotate a refresh token. Reusing a rotated token revokes its whole session."""
        if not refresh_token:
            raise Unauthenticated("missing refresh token")
        now = utcnow()
        reused = False
        token_hash = _hash_token(refresh_token)
        with self.db.sessions.begin() as s:
            session_id = s.scalar(select(RefreshToken.session_id).where(RefreshToken.token_hash == token_hash))
            if session_id is None:
                raise Unauthenticated("unknown refresh token; sign in again")
            # Lock the session before the token: concurrent uses of one family then queue on the session
            # row. Locking the token first deadlocks on MySQL (error 1213): the waiting use's lock on the
            # token_hash index blocks the winner's insert of the next token.
            session = s.get(Session, session_id, with_for_update=True)
            assert session is not None  # foreign key
            row = s.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update())
            assert row is not None  # tokens are deleted only with their session
            if session.revoked_at is not None:
                raise Unauthenticated("session ended; sign in again")
            # Claim the token atomically, so that two concurrent uses cannot both succeed.
            claimed = cast(
                CursorResult[Any],
                s.execute(
                    update(RefreshToken)
                    .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
                    .values(used_at=now)
                ),
            ).rowcount
            if not claimed:
                session.revoked_at, session.revoke_reason = now, "refresh token reuse"
                reused = True
            elif row.expires_at <= now:
                raise Unauthenticated("refresh token expired; sign in again")
            else:
                user = s.get(User, session.user_id)
                assert user is not None
                info = _info(user)
                tokens = self._issue(s, info, session.id)
        if reused:  # raised after the commit, so that the revocation sticks
            raise Unauthenticated("refresh token was already used; the session is revoked, sign in again")
        return info, tokens

    def logout(self, refresh_token: str) -> str:
        """Revoke the session of a refresh token and return its id; unknown tokens give ""."""
        if not refresh_token:
            raise InvalidArgument("missing refresh token")
        with self.db.sessions.begin() as s:
            row = s.scalar(select(RefreshToken).where(RefreshToken.token_hash == _hash_token(refresh_token)))
            if row is None:
                return ""
            s.execute(
                update(Session)
                .where(Session.id == row.session_id, Session.revoked_at.is_(None))
                .values(revoked_at=utcnow(), revoke_reason="logout")
            )
            return row.session_id

    def service_token(self, client_id: str, client_secret: str) -> tuple[str, float]:
        """An access token for an internal service with valid client credentials."""
        expected = self.settings.service_clients.get(client_id)
        # compare_digest either way, so the answer time does not tell whether the client exists
        ok = hmac.compare_digest(
            (expected.get_secret_value() if expected else secrets.token_hex(16)).encode(), client_secret.encode()
        )
        if expected is None or not ok:
            raise Unauthenticated("unknown service client or wrong secret")
        return self._access_token(
            f"{SERVICE_PREFIX}{client_id}", "service", client_id, self.settings.service_token_ttl_seconds
        )

    # -- helpers --------------------------------------------------------------------------------

    def _new_session(self, s: DbSession, user: UserInfo) -> Tokens:
        session_id = secrets.token_hex(16)
        s.add(Session(id=session_id, user_id=user.id, created_at=utcnow()))
        s.flush()
        return self._issue(s, user, session_id)

    def _issue(self, s: DbSession, user: UserInfo, session_id: str) -> Tokens:
        now = utcnow()
        refresh = secrets.token_urlsafe(32)
        refresh_expires = now + timedelta(seconds=self.settings.refresh_token_ttl_seconds)
        s.add(
            RefreshToken(
                session_id=session_id, token_hash=_hash_token(refresh), created_at=now, expires_at=refresh_expires
            )
        )
        access, access_expires = self._access_token(
            str(user.id), session_id, user.username, self.settings.access_token_ttl_seconds
        )
        return Tokens(access, access_expires, refresh, refresh_expires, session_id)

    def _access_token(self, subject: str, session_id: str, name: str, ttl: int) -> tuple[str, float]:
        now = time.time()
        claims = {
            "iss": self.settings.issuer,
            "aud": self.settings.audience,
            "sub": subject,
            "sid": session_id,
            "name": name,
            "iat": int(now),
            "exp": int(now) + ttl,
            "jti": secrets.token_hex(8),
        }
        return self.keyring.sign(claims), float(int(now) + ttl)
