"""What operators do to accounts (AdminService): find, disable, enable, end sessions, reset passwords,
grant the admin flag. Each write records an audit entry in its own transaction, then announces the
sessions it ended (common/revocations.py), so every component refuses their tokens at once.

The callers (auth_svc/admin_servicer.py) have checked the token's scope; here the rows are found
and changed. Blocking methods run on the Database's threads.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session as DbSession

from auth_svc import passwords
from auth_svc.models import AuditEntry, Session, User
from auth_svc.service import DISABLED, Accounts, UserInfo, user_info
from common import audit, paging
from common.db import Database
from common.errors import InvalidArgument, NotFound
from common.timestamps import utcnow
from parley.audit.v1 import audit_pb2

PAGE_DEFAULT, PAGE_MAX = 50, 200
IDS_MAX = 100
SESSIONS_SHOWN = 100
# sessions.revoke_reason of the sessions operators end (DISABLED is service.py's: gateways know it).
BY_OPERATOR, RESET, NO_LONGER_ADMIN = "ended by an operator", "password reset", "admin flag taken away"


@dataclass(frozen=True)
class Account:
    """An account as an operator sees it."""

    user: UserInfo
    disabled: bool
    admin: bool
    password_reset: bool
    active_sessions: int
    last_seen_at: datetime | None


@dataclass(frozen=True)
class AccountSession:
    """One session of an account."""

    session_id: str
    created_at: datetime
    refreshed_at: datetime | None
    ended_at: datetime | None
    end_reason: str


class Admin:
    """Operator writes and reads over auth_db."""

    def __init__(self, db: Database, accounts: Accounts, hasher: passwords.Hasher) -> None:
        self._db = db
        self._accounts = accounts
        self._hasher = hasher

    # -- reads ------------------------------------------------------------------------------------

    def find(self, prefix: str, user_ids: list[int], page_size: int, page_token: str) -> tuple[list[Account], str]:
        """Accounts by id or username prefix, ascending by id, one page; and the next page's token."""
        size = paging.page_size(page_size, PAGE_DEFAULT, PAGE_MAX, field="page_size")
        if len(user_ids) > IDS_MAX:
            raise InvalidArgument(f"ask for at most {IDS_MAX} user ids at once")
        after = paging.page_token(page_token)
        query = select(User).where(User.id > after).order_by(User.id).limit(size + 1)
        if user_ids:
            query = query.where(User.id.in_(user_ids))
        if prefix.strip():
            query = query.where(User.username.startswith(passwords.normalize_username(prefix), autoescape=True))
        with self._db.sessions() as s:
            users = list(s.scalars(query))
            more = len(users) > size
            accounts = _accounts(s, users[:size])
        return accounts, str(accounts[-1].user.id) if more else ""

    def account(self, user_id: int) -> tuple[Account, list[AccountSession]]:
        """One account and its newest sessions; NotFound for an unknown id."""
        with self._db.sessions() as s:
            user = _user(s, user_id)
            rows = s.scalars(
                select(Session)
                .where(Session.user_id == user_id)
                .order_by(Session.created_at.desc())
                .limit(SESSIONS_SHOWN)
            )
            sessions = [
                AccountSession(row.id, row.created_at, row.refreshed_at, row.revoked_at, row.revoke_reason or "")
                for row in rows
            ]
            return _accounts(s, [user])[0], sessions

    def audit_log(self, request: audit_pb2.ListAuditLogRequest) -> audit_pb2.ListAuditLogResponse:
        """A page of auth_svc's audit log."""
        with self._db.sessions() as s:
            return audit.page(s, AuditEntry, request)

    # -- writes -----------------------------------------------------------------------------------

    async def disable(self, actor: str, user_id: int, why: str) -> tuple[Account, int]:
        """Disable the account and end its sessions (their sockets close with 4005); idempotent."""
        why = audit.reason(why)

        def run() -> tuple[Account, list[tuple[str, datetime]]]:
            with self._db.sessions.begin() as s:
                user = _user(s, user_id, lock=True)
                if user.disabled_at is None:
                    user.disabled_at = utcnow()
                ended = _end(s, user_id, None, DISABLED)
                audit.record(s, AuditEntry, actor, "disable_user", f"user:{user_id}", why, sessions_ended=len(ended))
                return _accounts(s, [user])[0], ended

        account, ended = await self._db.run_once(run)
        await self._announce(ended, account_disabled=True)
        return account, len(ended)

    async def enable(self, actor: str, user_id: int, why: str) -> Account:
        """Enable a disabled account; its ended sessions stay ended. Idempotent."""
        why = audit.reason(why)

        def run() -> Account:
            with self._db.sessions.begin() as s:
                user = _user(s, user_id, lock=True)
                user.disabled_at = None
                audit.record(s, AuditEntry, actor, "enable_user", f"user:{user_id}", why)
                return _accounts(s, [user])[0]

        return await self._db.run_once(run)

    async def end_sessions(self, actor: str, user_id: int, session_id: str, why: str) -> int:
        """End one session of the user's (NotFound when it is not theirs) or all of them; how many ended."""
        why = audit.reason(why)

        def run() -> list[tuple[str, datetime]]:
            with self._db.sessions.begin() as s:
                _user(s, user_id, lock=True)
                if session_id and s.scalar(select(Session.user_id).where(Session.id == session_id)) != user_id:
                    raise NotFound(f"user {user_id} has no session {session_id!r}")
                ended = _end(s, user_id, session_id or None, BY_OPERATOR)
                target = f"session:{session_id}" if session_id else f"user:{user_id}"
                audit.record(s, AuditEntry, actor, "end_sessions", target, why, sessions_ended=len(ended))
                return ended

        ended = await self._db.run_once(run)
        await self._announce(ended)
        return len(ended)

    async def reset_password(self, actor: str, user_id: int, why: str) -> tuple[str, int]:
        """A one-time temporary password for the user, who must replace it at sign-in; their sessions end."""
        why = audit.reason(why)
        temporary = secrets.token_urlsafe(12)  # 16 characters, 96 bits
        password_hash = await self._hasher.hash(temporary)

        def run() -> list[tuple[str, datetime]]:
            with self._db.sessions.begin() as s:
                user = _user(s, user_id, lock=True)
                user.password_hash, user.password_reset_at = password_hash, utcnow()
                ended = _end(s, user_id, None, RESET)
                audit.record(s, AuditEntry, actor, "reset_password", f"user:{user_id}", why, sessions_ended=len(ended))
                return ended

        ended = await self._db.run_once(run)
        await self._announce(ended)
        return temporary, len(ended)

    async def set_admin(self, actor: str, user_id: int, admin: bool, why: str) -> Account:
        """Grant or take away the admin flag; taking it away ends the user's sessions (their tokens carry it)."""
        why = audit.reason(why)

        def run() -> tuple[Account, list[tuple[str, datetime]]]:
            with self._db.sessions.begin() as s:
                user = _user(s, user_id, lock=True)
                ended = _end(s, user_id, None, NO_LONGER_ADMIN) if user.admin and not admin else []
                user.admin = admin
                audit.record(s, AuditEntry, actor, "set_admin", f"user:{user_id}", why, admin=admin)
                return _accounts(s, [user])[0], ended

        account, ended = await self._db.run_once(run)
        await self._announce(ended)
        return account

    async def _announce(self, ended: list[tuple[str, datetime]], account_disabled: bool = False) -> None:
        for session_id, at in ended:
            await self._accounts.announce(session_id, self._accounts.refuse_until(at), account_disabled)


def _user(s: DbSession, user_id: int, lock: bool = False) -> User:
    user = s.get(User, user_id, with_for_update=lock) if user_id > 0 else None
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def _end(s: DbSession, user_id: int, session_id: str | None, why: str) -> list[tuple[str, datetime]]:
    """End the user's active sessions (or the one given); (id, ended at) of each that this ended."""
    query = select(Session.id).where(Session.user_id == user_id, Session.revoked_at.is_(None))
    if session_id is not None:
        query = query.where(Session.id == session_id)
    ids = list(s.scalars(query.with_for_update()))
    if not ids:
        return []
    now = utcnow()
    s.execute(update(Session).where(Session.id.in_(ids)).values(revoked_at=now, revoke_reason=why))
    return [(sid, now) for sid in ids]


def _accounts(s: DbSession, users: list[User]) -> list[Account]:
    active: dict[int, int] = {}
    if users:
        rows = s.execute(
            select(Session.user_id, func.count())
            .where(Session.user_id.in_([u.id for u in users]), Session.revoked_at.is_(None))
            .group_by(Session.user_id)
        )
        active = {int(uid): int(n) for uid, n in rows}
    return [
        Account(
            user_info(u),
            u.disabled_at is not None,
            bool(u.admin),
            u.password_reset_at is not None,
            active.get(u.id, 0),
            u.last_seen_at,
        )
        for u in users
    ]
