"""search: a full-text index of messages.body

MySQL/MariaDB: an InnoDB FULLTEXT index (the first one on a table rebuilds it, to add InnoDB's
hidden FTS_DOC_ID column). SQLite: a contentless FTS5 table keyed by (room_id << 32 | seq), so
that VACUUM (which may renumber the implicit rowids of messages) cannot detach it; triggers keep
it in step with every write, and the messages stored before are indexed here. A tombstone's body
is empty, so it has no words in either index. docs/search-and-files.md says what each one does
with words.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 13:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported: a migration keeps meaning what it meant when it was written.
# Each FTS row's rowid is its message's (room_id << 32) | seq.
_SQLITE = [
    # content='': the bodies stay in messages alone. A row is removed with the 'delete' command and
    # the exact text it was indexed with, which the triggers have as OLD.body.
    "CREATE VIRTUAL TABLE messages_fts USING fts5("
    "body, content='', tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN NEW.deleted_at IS NULL BEGIN
      INSERT INTO messages_fts(rowid, body) VALUES ((NEW.room_id << 32) | NEW.seq, NEW.body);
    END""",
    """CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, deleted_at ON messages BEGIN
      INSERT INTO messages_fts(messages_fts, rowid, body)
        SELECT 'delete', (OLD.room_id << 32) | OLD.seq, OLD.body WHERE OLD.deleted_at IS NULL;
      INSERT INTO messages_fts(rowid, body)
        SELECT (NEW.room_id << 32) | NEW.seq, NEW.body WHERE NEW.deleted_at IS NULL;
    END""",
    """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN OLD.deleted_at IS NULL BEGIN
      INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', (OLD.room_id << 32) | OLD.seq, OLD.body);
    END""",
    "INSERT INTO messages_fts(rowid, body) SELECT (room_id << 32) | seq, body FROM messages WHERE deleted_at IS NULL",
]


def upgrade() -> None:
    """Upgrade schema."""
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE:
            op.execute(statement)
    else:
        op.execute("CREATE FULLTEXT INDEX ix_messages_body_fulltext ON messages (body)")


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER messages_fts_{trigger}")
        op.execute("DROP TABLE messages_fts")
    else:
        op.execute("DROP INDEX ix_messages_body_fulltext ON messages")
