"""chat_db tables: rooms, members, invitations and blocks, messages, the mentions and reactions of messages, files,
and the audit log of operators' writes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from common.audit import AuditColumns
from common.db import BigId, PreciseDateTime

# Emoji compare by code point: MySQL's *_ci collations weigh every emoji alike ("👍" = "🎉").
Emoji = String(64).with_variant(mysql.VARCHAR(64, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb")


class Base(DeclarativeBase):
    """Metadata of chat_db."""


class Room(Base):
    """A room; last_seq and last_change are the counters that number its messages and changes."""

    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[int] = mapped_column(SmallInteger)  # parley.chat.v1.RoomKind
    name: Mapped[str] = mapped_column(String(80), default="")
    topic: Mapped[str] = mapped_column(String(250), default="")
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_change: Mapped[int] = mapped_column(BigInteger, default=0)
    last_message_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, default=None)
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    # "<low user id>:<high user id>" for direct rooms, so that each pair has one room.
    direct_key: Mapped[str | None] = mapped_column(String(41), unique=True, default=None)
    # Whether @room mentions everyone; the change number of the last UpdateRoom / RemoveMember.
    room_mentions: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    settings_change: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # When an operator archived it (read-only, hidden from browsing); NULL while it is not.
    archived_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, default=None)
    # Live messages of the main timeline (what unread counts), kept by sends and deletes: an unread
    # count is this minus the member's read_count, with no count over the room's history.
    timeline_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    __table_args__ = (Index("ix_rooms_kind_id", "kind", "id"),)


class Member(Base):
    """A user's membership of a room, with their read marker."""

    __tablename__ = "members"

    room_id: Mapped[int] = mapped_column(BigId, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    role: Mapped[int] = mapped_column(SmallInteger)  # parley.chat.v1.MemberRole
    joined_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    last_read_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # parley.chat.v1.NotificationLevel (0: the room kind's default); the change of the last role change.
    notification_level: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    role_change: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Of the room's timeline_count, how many are at or below last_read_seq (moved with the marker).
    read_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    __table_args__ = (Index("ix_members_user_id", "user_id"),)


class Invitation(Base):
    """A user invited to a room: pending until they accept (a members row replaces it) or decline.

    A declined one stays, with declined_at, so that nobody can invite that user to that room again
    until they join it themselves.
    """

    __tablename__ = "invitations"

    room_id: Mapped[int] = mapped_column(BigId, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # the invitee
    inviter_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, default=None)

    # An invitee's list (and its cap); an inviter's count towards one invitee reads the same rows.
    __table_args__ = (Index("ix_invitations_user_id", "user_id", "created_at"),)


class Block(Base):
    """A user blocked another: no direct conversations and no invitations between them."""

    __tablename__ = "blocks"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # who blocked
    blocked_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class Message(Base):
    """A message; (room_id, seq) is the primary key, so history pages walk the clustered index."""

    __tablename__ = "messages"
    # No Python-side defaults: a Core INSERT would then send every defaulted column as a parameter of
    # every row; the columns a send leaves out are NULL or take their server_default instead.

    room_id: Mapped[int] = mapped_column(BigId, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    change: Mapped[int] = mapped_column(BigInteger)
    sender_id: Mapped[int] = mapped_column(BigInteger)
    client_msg_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)
    deleted_by: Mapped[int | None] = mapped_column(BigInteger)
    # A tombstone an operator made (ModerationService.TakeDownMessage); deleted_by is then NULL.
    taken_down: Mapped[bool] = mapped_column(Boolean, server_default="0")
    # A reply names its thread's root; 0 for the main timeline. also_in_room: shown there too.
    thread_root_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    also_in_room: Mapped[bool] = mapped_column(Boolean, server_default="0")
    # A root's thread summary, kept up to date under the room's lock (no count over the thread).
    reply_count: Mapped[int] = mapped_column(Integer, server_default="0")
    last_reply_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    last_reply_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)
    thread_user_ids: Mapped[str | None] = mapped_column(String(120))  # up to 5 ids, newest first: "3,1"
    # Who the body mentions: member ids "2,7" or NULL (the mentions table indexes them), and @room.
    mentions: Mapped[str | None] = mapped_column(Text)
    mentions_room: Mapped[bool] = mapped_column(Boolean, server_default="0")
    # The reactions' aggregate as JSON, [{"e": "👍", "n": 2, "u": [1, 5]}] or NULL, kept with each React
    # under the room's lock; the reactions table holds each (user, emoji) and answers "did I react".
    reactions: Mapped[str | None] = mapped_column(Text)
    # How many files it attaches: reads look the files up only for messages that have some.
    file_count: Mapped[int] = mapped_column(SmallInteger, server_default="0")

    __table_args__ = (
        # Idempotent sends: a retry with the same key finds the original.
        UniqueConstraint("room_id", "sender_id", "client_msg_id", name="uq_messages_client_msg_id"),
        Index("ix_messages_room_change", "room_id", "change"),
        # A thread's page; main-timeline messages (0) append at the end of their room's range.
        Index("ix_messages_thread", "room_id", "thread_root_seq", "seq"),
    )


class Mention(Base):
    """A user (0 for @room) mentioned by a message: counted against the member's read marker."""

    __tablename__ = "mentions"

    room_id: Mapped[int] = mapped_column(BigId, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # 0: @room
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    sender_id: Mapped[int] = mapped_column(BigInteger)  # your own @room is not a mention of you


class Reaction(Base):
    """One user's reaction with one emoji to one message: at most once, so a retry changes nothing."""

    __tablename__ = "reactions"

    room_id: Mapped[int] = mapped_column(BigId, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    emoji: Mapped[str] = mapped_column(Emoji, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class File(Base):
    """A file uploaded into a room; its bytes (and a thumbnail's) live in the blob store under its id."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(22), primary_key=True)  # secrets.token_urlsafe(16)
    room_id: Mapped[int] = mapped_column(BigId, ForeignKey("rooms.id", ondelete="CASCADE"))
    uploader_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer, server_default="0")
    height: Mapped[int] = mapped_column(Integer, server_default="0")
    # The thumbnail's bytes and type; 0 / "" when the file has none.
    thumbnail_size: Mapped[int] = mapped_column(Integer, server_default="0")
    thumbnail_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    # The message that attaches it (NULL: not yet), and its place among that message's files.
    message_seq: Mapped[int | None] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    # When its message was deleted: hidden at once, its bytes removed after the grace period.
    removed_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)

    __table_args__ = (
        Index("ix_files_message", "room_id", "message_seq", "position"),
        # The sweeper's two questions: unattached uploads past the grace period, and removed files.
        Index("ix_files_unattached", "message_seq", "created_at"),
        Index("ix_files_removed", "removed_at"),
    )


class AuditEntry(AuditColumns, Base):
    """One operator write (ModerationService), stored in the transaction of the change it records (common/audit.py)."""

    __tablename__ = "audit_log"
    # ListAuditLog's filters page by id within one actor or one target.
    __table_args__ = (Index("ix_audit_log_actor", "actor", "id"), Index("ix_audit_log_target", "target", "id"))


# -- search: kept by the engine outside this metadata (migration 0004) ------------------------------

FTS_TABLE = "messages_fts"  # SQLite: the FTS5 table of messages.body (and its shadow tables messages_fts_*)
FULLTEXT_INDEX = "ix_messages_body_fulltext"  # MySQL/MariaDB: the FULLTEXT index on messages.body


def modelled(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """Alembic's include_name: leave out the search index, which no model describes (the engines' own kinds)."""
    if type_ == "table" and name is not None:
        return name != FTS_TABLE and not name.startswith(f"{FTS_TABLE}_")
    return not (type_ == "index" and name == FULLTEXT_INDEX)
