"""binary username collation; sessions by the time they ended

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 16:10:00

On MySQL/MariaDB the username column moves to utf8mb4_bin, so that an accented or full-width
spelling is another name, not the same account. Stored names are lower-case ASCII (the username
rule), so no two existing rows collide under the new collation. SQLite compares bytes already.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _username(collation: str | None) -> None:
    bind = op.get_bind()
    if bind.dialect.name not in {"mysql", "mariadb"}:
        return
    collate = f" COLLATE {collation}" if collation else ""
    op.execute(f"ALTER TABLE users MODIFY username VARCHAR(32) CHARACTER SET utf8mb4{collate} NOT NULL")


def upgrade() -> None:
    """Upgrade schema."""
    _username("utf8mb4_bin")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_revoked_at"), ["revoked_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_revoked_at"))
    _username(None)  # the database's default collation again
