"""auth_db tables: users, sessions (refresh-token families), refresh tokens and the operators' audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from common.audit import AuditColumns
from common.db import BigId, PreciseDateTime

# Usernames compare byte for byte: MySQL's default collations make accented and full-width spellings
# of "alice" equal to it.
# They are stored lower case (auth_svc/passwords.py), so `Alice` and `alice` are still one name.
Username = String(32).with_variant(mysql.VARCHAR(32, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb")


class Base(DeclarativeBase):
    """Metadata of auth_db."""


class User(Base):
    """An account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(Username, unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    # Set by an operator (AdminService.DisableUser): no sign-in, no refresh, no live socket.
    disabled_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, default=None)
    # The server-wide admin flag: the user's access tokens carry admin:read and admin:write.
    admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Set by AdminService.ResetPassword: the password is a temporary one until the user picks theirs.
    password_reset_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, default=None)
    # The latest sign-in or refresh, for operators.
    last_seen_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, default=None)


class Session(Base):
    """A signed-in session: the family of refresh tokens that descend from one login."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    # Indexed: ListEndedSessions reads the sessions ended lately.
    revoked_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, default=None, index=True)
    revoke_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    refreshed_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, default=None)


class RefreshToken(Base):
    """One refresh token, stored as its SHA-256; used_at is set when it is rotated out."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(32), ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    expires_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    used_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, default=None)


class AuditEntry(AuditColumns, Base):
    """One operator write (AdminService): who, what, to what, why, when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_actor", "actor", "id"), Index("ix_audit_log_target", "target", "id"))
