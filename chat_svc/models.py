"""chat_db tables: rooms, members and messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from common.db import BigId, PreciseDateTime


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

    __table_args__ = (Index("ix_rooms_kind_id", "kind", "id"),)


class Member(Base):
    """A user's membership of a room, with their read marker."""

    __tablename__ = "members"

    room_id: Mapped[int] = mapped_column(BigId, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    role: Mapped[int] = mapped_column(SmallInteger)  # parley.chat.v1.MemberRole
    joined_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    last_read_seq: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ix_members_user_id", "user_id"),)


class Message(Base):
    """A message; (room_id, seq) is the primary key, so history pages walk the clustered index."""

    __tablename__ = "messages"

    room_id: Mapped[int] = mapped_column(BigId, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    change: Mapped[int] = mapped_column(BigInteger)
    sender_id: Mapped[int] = mapped_column(BigInteger)
    client_msg_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, default=None)

    __table_args__ = (
        # Idempotent sends: a retry with the same key finds the original.
        UniqueConstraint("room_id", "sender_id", "client_msg_id", name="uq_messages_client_msg_id"),
        Index("ix_messages_room_change", "room_id", "change"),
    )
