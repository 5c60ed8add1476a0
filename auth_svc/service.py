"""The rules of accounts and sessions. No gRPC here: plain values in, plain values or errors out.

register, login, refresh and logout are coroutines: their database work runs on the Database's worker
threads and argon2 on the Hasher's own pool, so a sign-in flood cannot take the threads other calls
need. The other methods are blocking and are run on the Database's threads by the servicer.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from auth_svc import metrics, passwords
from auth_svc.keys import Keyring
from auth_svc.models import RefreshToken, Session, User
from auth_svc.settings import AuthSettings
from auth_svc.throttle import SignInThrottle
from common import logs
from common.db import Database
from common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from common.limits import BATCH_USERS_MAX, USERNAME_MAX
from common.revocations import Announce
from common.timestamps import utcnow
from common.tokens import ADMIN_READ, ADMIN_WRITE, SERVICE_PREFIX

log = logging.getLogger(__name__)

BAD_CREDENTIALS = "wrong username or password"
MAX_BATCH = BATCH_USERS_MAX
ENDED_PAGE = 1000  # ListEndedSessions' page
# Ended sessions are refused this much longer than an access token lives: clocks differ a little,
# and verifiers accept a token a few seconds past its expiry.
_REFUSE_MARGIN_S = 30.0

# Why a session ended (sessions.revoke_reason); the operators' reasons come from auth_svc/admin.py.
LOGGED_OUT, REUSED = "logout", "refresh token reuse"
DISABLED = "account disabled"  # the one reason whose sockets close with 4005, not 4004


@dataclass(frozen=True)
class EndedSession:
    """A session that ended, and until when its access tokens must be refused."""

    session_id: str
    ended_at: datetime
    refuse_until: float
    account_disabled: bool = False


@dataclass(frozen=True)
class UserInfo:
    """A user as callers see it (no password hash)."""

    id: int
    username: str
    display_name: str
    created_at: datetime
    admin: bool = False  # the server-wide flag: their access tokens carry the operator scopes


@dataclass(frozen=True)
class Tokens:
    """The tokens of one session."""

    access_token: str
    access_expires_at: float
    refresh_token: str
    refresh_expires_at: datetime
    session_id: str


class SessionReused(Exception):
    """A rotated refresh token came back: its session was revoked (in the committed transaction)."""

    def __init__(self, session_id: str, user_id: int, ended_at: datetime) -> None:
        super().__init__(session_id)
        self.session_id = session_id
        self.user_id = user_id
        self.ended_at = ended_at


def user_info(user: User) -> UserInfo:
    """The caller-facing view of a row."""
    return UserInfo(user.id, user.username, user.display_name, user.created_at, bool(user.admin))


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Registration, sign-in, refresh-token rotation, sign-out and user lookups."""

    def __init__(
        self,
        db: Database,
        keyring: Keyring,
        settings: AuthSettings,
        hasher: passwords.Hasher,
        throttle: SignInThrottle,
        announce: Announce,
    ) -> None:
        self.db = db
        self.keyring = keyring
        self.settings = settings
        self.hasher = hasher
        self.throttle = throttle
        self.announce = announce

    # -- accounts -------------------------------------------------------------------------------

    async def register(self, username: str, password: str, display_name: str) -> tuple[UserInfo, Tokens]:
        """Create an account and a first session."""
        name = passwords.check_username(username)
        passwords.check_password(password, name)
        shown = passwords.check_display_name(display_name, name)
        password_hash = await self.hasher.hash(password)
        created = await self.db.run_once(self._create, name, shown, password_hash)
        logs.user_id.set(created[0].id)  # this call's later log lines name the new user
        return created

    def _create(self, name: str, shown: str, password_hash: str) -> tuple[UserInfo, Tokens]:
        try:
            with self.db.sessions.begin() as s:
                now = utcnow()
                user = User(
                    username=name, display_name=shown, password_hash=password_hash, created_at=now, last_seen_at=now
                )
                s.add(user)
                s.flush()
                info = user_info(user)
                tokens = self._new_session(s, info)
        except IntegrityError as exc:
            raise AlreadyExists(f"username {name!r} is taken") from exc
        return info, tokens

    async def login(
        self, username: str, password: str, address: str = "", new_password: str = ""
    ) -> tuple[UserInfo, Tokens]:
        """A new session for correct credentials; throttled per username and client address (auth_svc/throttle.py).

        An unknown user, a wrong password and a malformed username get the same answer after the same
        argon2 work, so the answer tells nothing of which names exist. Only with the right password:
        PermissionDenied for a disabled account; after an operator's reset, FailedPrecondition until
        `new_password` is given, which then replaces the temporary one.
        """
        name = passwords.well_formed_username(username)
        key = name if name is not None else username.strip().lower()[:USERNAME_MAX]
        try:
            await self.db.run(self.throttle.attempt, key, address)
        except ResourceExhausted:
            metrics.THROTTLED.inc()
            log.info("sign-in throttled after repeated failures (from %s)", address or "an unknown address")
            raise
        user = await self.db.run(self._find, name) if name is not None else None
        if user is not None:  # the rest of this call's log lines name the account tried (never to the caller)
            logs.user_id.set(user.id)
        ok, new_hash = await self.hasher.verify(password, user.password_hash if user is not None else None)
        if user is None or not ok:
            metrics.BAD_CREDENTIALS.inc()
            raise Unauthenticated(BAD_CREDENTIALS)
        await self.db.run(self.throttle.succeeded, key, address)
        if user.disabled_at is not None:
            metrics.DISABLED.inc()
            raise PermissionDenied("this account is disabled; ask an operator")
        if user.password_reset_at is not None:
            if not new_password:
                raise FailedPrecondition("your password was reset by an operator: choose a new one (new_password)")
            passwords.check_password(new_password, user.username)
            if new_password == password:
                raise InvalidArgument("the new password must differ from the temporary one")
            new_hash = await self.hasher.hash(new_password)
        signed_in = await self.db.run_once(self._signed_in, user, new_hash)
        metrics.SIGNED_IN.inc()
        return signed_in

    def _find(self, name: str) -> User | None:
        with self.db.sessions() as s:
            return s.scalar(select(User).where(User.username == name))

    def _signed_in(self, user: User, new_hash: str | None) -> tuple[UserInfo, Tokens]:
        with self.db.sessions.begin() as s:
            now = utcnow()
            # A new hash: argon2's parameters changed since it was made, or a reset password was replaced.
            changes: dict[str, object] = {"last_seen_at": now}
            if new_hash:
                changes |= {"password_hash": new_hash, "password_reset_at": None}
            s.execute(update(User).where(User.id == user.id).values(**changes))
            info = user_info(user)
            return info, self._new_session(s, info)

    def get_user(self, user_id: int | None = None, username: str | None = None) -> UserInfo:
        """One user by id or by username."""
        with self.db.sessions() as s:
            if user_id is not None:
                user = s.get(User, user_id)
            elif username is not None:
                name = passwords.well_formed_username(username)
                user = s.scalar(select(User).where(User.username == name)) if name is not None else None
            else:
                raise InvalidArgument("give a user_id or a username")
        if user is None:
            raise NotFound("no such user")
        return user_info(user)

    def batch_get_users(self, user_ids: Iterable[int], usernames: Iterable[str] = ()) -> list[UserInfo]:
        """The users among the ids and the usernames (any case), ascending by id; unknown ones are left out."""
        wanted = sorted(set(user_ids))
        names = sorted({passwords.normalize_username(name) for name in usernames})
        if len(wanted) + len(names) > MAX_BATCH:
            raise InvalidArgument(f"ask for at most {MAX_BATCH} users at once")
        names = [name for name in names if passwords.well_formed_username(name) == name]  # others name nobody
        if not wanted and not names:
            return []
        with self.db.sessions() as s:
            users = s.scalars(
                select(User).where(or_(User.id.in_(wanted), User.username.in_(names))).order_by(User.id)
            ).all()
        return [user_info(u) for u in users]

    # -- sessions -------------------------------------------------------------------------------

    async def refresh(self, refresh_token: str) -> tuple[UserInfo, Tokens]:
        """Rotate a refresh token. Reusing a rotated token revokes its whole session, everywhere."""
        try:
            rotated = await self.db.run_once(self._rotate, refresh_token)
        except SessionReused as exc:
            metrics.REUSES.inc()
            metrics.REFRESH_REFUSED.inc()
            logs.user_id.set(exc.user_id)
            # A stolen token, or a client that lost a reply and retried: worth an operator's look.
            log.warning("a rotated refresh token was presented again: session %s revoked", exc.session_id)
            await self.announce(exc.session_id, self.refuse_until(exc.ended_at))
            raise Unauthenticated("refresh token was already used; the session is revoked, sign in again") from exc
        except Unauthenticated:
            metrics.REFRESH_REFUSED.inc()
            raise
        metrics.REFRESHED.inc()
        logs.user_id.set(rotated[0].id)
        return rotated

    def _rotate(self, refresh_token: str) -> tuple[UserInfo, Tokens]:
        if not refresh_token:
            raise Unauthenticated("missing refresh token")
        now = utcnow()
        reused: int | None = None  # the session's user when a rotated token came back
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
                session.revoked_at, session.revoke_reason = now, REUSED
                reused = session.user_id
            elif row.expires_at <= now:
                raise Unauthenticated("refresh token expired; sign in again")
            else:
                user = s.get(User, session.user_id)
                assert user is not None
                if user.disabled_at is not None:  # its sessions were ended; this is the belt to those braces
                    raise Unauthenticated("this account is disabled")
                user.last_seen_at = session.refreshed_at = now
                info = user_info(user)
                tokens = self._issue(s, info, session.id)
        if reused is not None:  # raised after the commit, so that the revocation sticks
            raise SessionReused(session_id, reused, now)
        return info, tokens

    async def logout(self, refresh_token: str) -> tuple[str, float]:
        """Revoke the session of a refresh token, everywhere; its id ("" for an unknown token) and until when
        its access tokens are refused."""
        if not refresh_token:
            raise InvalidArgument("missing refresh token")
        session_id, ended_at = await self.db.run(self._end, refresh_token)
        if not session_id:
            return "", 0.0
        until = self.refuse_until(ended_at)
        await self.announce(session_id, until)
        return session_id, until

    def _end(self, refresh_token: str) -> tuple[str, datetime]:
        with self.db.sessions.begin() as s:
            row = s.scalar(select(RefreshToken).where(RefreshToken.token_hash == _hash_token(refresh_token)))
            if row is None:
                return "", utcnow()
            s.execute(
                update(Session)
                .where(Session.id == row.session_id, Session.revoked_at.is_(None))
                .values(revoked_at=utcnow(), revoke_reason=LOGGED_OUT)
            )
            ended_at = s.scalar(select(Session.revoked_at).where(Session.id == row.session_id))
            return row.session_id, ended_at or utcnow()

    def ended_sessions(self, after: datetime) -> list[EndedSession]:
        """Sessions ended after `after` (looking back at most one access token lifetime), oldest first, one page."""
        oldest = utcnow() - timedelta(seconds=self.settings.access_token_ttl_seconds + _REFUSE_MARGIN_S)
        with self.db.sessions() as s:
            rows = s.execute(
                select(Session.id, Session.revoked_at, Session.revoke_reason)
                .where(Session.revoked_at > max(after, oldest))
                .order_by(Session.revoked_at)
                .limit(ENDED_PAGE)
            ).all()
        return [
            EndedSession(sid, ended, self.refuse_until(ended), why == DISABLED)
            for sid, ended, why in rows
            if ended is not None
        ]

    def refuse_until(self, ended_at: datetime) -> float:
        """Until when the access tokens of a session that ended at `ended_at` are refused (epoch seconds)."""
        return ended_at.replace(tzinfo=UTC).timestamp() + self.settings.access_token_ttl_seconds + _REFUSE_MARGIN_S

    def service_token(self, client_id: str, client_secret: str) -> tuple[str, float]:
        """An access token for an internal service with valid client credentials."""
        client = self.settings.service_clients.get(client_id)
        # compare_digest either way, so the answer time does not tell whether the client exists
        expected = client.secret.get_secret_value() if client else secrets.token_hex(16)
        ok = hmac.compare_digest(expected.encode(), client_secret.encode())
        if client is None or not ok:
            raise Unauthenticated("unknown service client or wrong secret")
        return self._access_token(
            f"{SERVICE_PREFIX}{client_id}",
            "service",
            client_id,
            self.settings.service_token_ttl_seconds,
            client.scopes,
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
            str(user.id),
            session_id,
            user.username,
            self.settings.access_token_ttl_seconds,
            (ADMIN_READ, ADMIN_WRITE) if user.admin else (),
        )
        return Tokens(access, access_expires, refresh, refresh_expires, session_id)

    def _access_token(
        self, subject: str, session_id: str, name: str, ttl: int, scopes: Iterable[str] = ()
    ) -> tuple[str, float]:
        now = time.time()
        claims: dict[str, object] = {
            "iss": self.settings.issuer,
            "aud": self.settings.audience,
            "sub": subject,
            "sid": session_id,
            "name": name,
            "iat": int(now),
            "exp": int(now) + ttl,
            "jti": secrets.token_hex(8),
        }
        if scopes:
            claims["scope"] = " ".join(sorted(scopes))
        return self.keyring.sign(claims), float(int(now) + ttl)
