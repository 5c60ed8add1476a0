"""conversations: threads, mentions, reactions, room settings and roles, notification levels

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 03:00:00

New columns are NOT NULL with server defaults, so existing rows read as "no thread, no mention, no
reaction, default settings" and the ALTERs need no backfill.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mariadb").with_variant(mysql.DATETIME(fsp=6), "mysql")
_EMOJI = sa.String(64).with_variant(mysql.VARCHAR(64, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("room_mentions", sa.Boolean(), server_default="0", nullable=False))
        batch.add_column(sa.Column("settings_change", sa.BigInteger(), server_default="0", nullable=False))
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("notification_level", sa.SmallInteger(), server_default="0", nullable=False))
        batch.add_column(sa.Column("role_change", sa.BigInteger(), server_default="0", nullable=False))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("deleted_by", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("thread_root_seq", sa.BigInteger(), server_default="0", nullable=False))
        batch.add_column(sa.Column("also_in_room", sa.Boolean(), server_default="0", nullable=False))
        batch.add_column(sa.Column("reply_count", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("last_reply_seq", sa.BigInteger(), server_default="0", nullable=False))
        batch.add_column(sa.Column("last_reply_at", _TIME, nullable=True))
        batch.add_column(sa.Column("thread_user_ids", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("mentions", sa.Text(), nullable=True))
        batch.add_column(sa.Column("mentions_room", sa.Boolean(), server_default="0", nullable=False))
        batch.add_column(sa.Column("reactions", sa.Text(), nullable=True))
        batch.create_index("ix_messages_thread", ["room_id", "thread_root_seq", "seq"], unique=False)
    op.create_table(
        "mentions",
        sa.Column("room_id", _ID, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sender_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("room_id", "user_id", "seq"),
    )
    op.create_table(
        "reactions",
        sa.Column("room_id", _ID, nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("emoji", _EMOJI, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("room_id", "seq", "user_id", "emoji"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("reactions")
    op.drop_table("mentions")
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_thread")
        for column in (
            "reactions", "mentions_room", "mentions", "thread_user_ids", "last_reply_at", "last_reply_seq",
            "reply_count", "also_in_room", "thread_root_seq", "deleted_by",
        ):  # fmt: skip
            batch.drop_column(column)
    with op.batch_alter_table("members") as batch:
        batch.drop_column("role_change")
        batch.drop_column("notification_level")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("settings_change")
        batch.drop_column("room_mentions")
