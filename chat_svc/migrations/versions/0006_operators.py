"""operators: archived rooms, taken-down messages, the audit log

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 01:00:00

New columns are NULL or NOT NULL with a server default, so existing rooms read as "not archived"
and existing messages as "not taken down": no backfill.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mariadb").with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("archived_at", _TIME, nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("taken_down", sa.Boolean(), server_default="0", nullable=False))
    op.create_table(
        "audit_log",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("detail_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_actor", "audit_log", ["actor", "id"], unique=False)
    op.create_index("ix_audit_log_target", "audit_log", ["target", "id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("audit_log")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("taken_down")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("archived_at")
