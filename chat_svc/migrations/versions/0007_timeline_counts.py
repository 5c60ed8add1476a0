"""timeline counts: rooms.timeline_count and members.read_count, so that unread is a subtraction

An unread count was a count of the room's messages after the member's marker: a member far behind
in a big room cost a walk over its history. rooms.timeline_count keeps the live main-timeline
messages, members.read_count how many of them lie at or below the marker; unread is the
difference. Both are computed here for the messages stored before (one pass over them).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported: what counts as unread when this was written (repository._unread
# without its sender test: a sender's marker is always at or past their own messages).
_COUNTED = "m.deleted_at IS NULL AND (m.thread_root_seq = 0 OR m.also_in_room = 1)"


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("timeline_count", sa.BigInteger(), server_default="0", nullable=False))
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("read_count", sa.BigInteger(), server_default="0", nullable=False))
    op.execute(
        f"UPDATE rooms SET timeline_count = (SELECT COUNT(*) FROM messages m WHERE m.room_id = rooms.id AND {_COUNTED})"  # noqa: S608 - constants
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "UPDATE members SET read_count = (SELECT COUNT(*) FROM messages m WHERE m.room_id = members.room_id"  # noqa: S608
            f" AND m.seq <= members.last_read_seq AND {_COUNTED})"
        )
    else:  # one pass over the messages, a running count per room, not a count per member
        op.execute(
            "UPDATE members JOIN (SELECT m.room_id, m.seq, SUM(CASE WHEN "  # noqa: S608 - constants
            f"{_COUNTED} THEN 1 ELSE 0 END) OVER (PARTITION BY m.room_id ORDER BY m.seq) AS below FROM messages m) t"
            " ON t.room_id = members.room_id AND t.seq = members.last_read_seq SET members.read_count = t.below"
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("members") as batch:
        batch.drop_column("read_count")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("timeline_count")
