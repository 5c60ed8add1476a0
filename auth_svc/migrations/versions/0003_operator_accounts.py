"""operators: disabled and admin accounts, password resets, last seen, session refreshes, audit log

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 00:40:00

AdminService (issue 16) disables accounts, grants the admin flag and resets passwords; every write
it makes is recorded in audit_log.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", _TIME, nullable=True))
        batch_op.add_column(sa.Column("admin", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("password_reset_at", _TIME, nullable=True))
        batch_op.add_column(sa.Column("last_seen_at", _TIME, nullable=True))
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refreshed_at", _TIME, nullable=True))
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
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_actor", ["actor", "id"], unique=False)
        batch_op.create_index("ix_audit_log_target", ["target", "id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("audit_log")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("refreshed_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("password_reset_at")
        batch_op.drop_column("admin")
        batch_op.drop_column("disabled_at")
