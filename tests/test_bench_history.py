"""bench/history.py's loader keeps every invariant chat_svc relies on, on real MySQL, with a small history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from bench import history
from common import migrations
from tests.support import mysql

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = 20_000

pytestmark = pytest.mark.mysql


@pytest.fixture(scope="module")
def loaded() -> Iterator[tuple[Engine, history.Loaded]]:
    """A migrated chat_db holding a history of MESSAGES messages."""
    url = mysql.fresh_database("parley_test_history_chat")
    migrations.upgrade(ROOT / "chat_svc" / "migrations", url)
    result = history.load(url, MESSAGES)
    engine = create_engine(url)
    try:
        yield engine, result
    finally:
        engine.dispose()
        mysql.drop_created()


def _one(engine: Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def test_every_message_is_stored(loaded: tuple[Engine, history.Loaded]) -> None:
    """The load stores exactly the number of messages asked for."""
    engine, result = loaded
    assert result.messages == MESSAGES
    assert _one(engine, "SELECT COUNT(*) FROM messages") == MESSAGES


def test_seq_is_gap_free_and_matches_the_room_counters(loaded: tuple[Engine, history.Loaded]) -> None:
    """In every room seq runs 1..last_seq without a gap, and last_change and last_message_at match."""
    engine, _ = loaded
    wrong = _one(
        engine,
        "SELECT COUNT(*) FROM rooms r LEFT JOIN (SELECT room_id, COUNT(*) n, MIN(seq) lo, MAX(seq) hi,"
        " MAX(`change`) ch, MAX(created_at) at FROM messages GROUP BY room_id) m ON m.room_id = r.id"
        " WHERE COALESCE(m.n, 0) <> r.last_seq OR (m.n > 0 AND (m.lo <> 1 OR m.hi <> m.n OR m.ch <> r.last_change"
        " OR m.at <> r.last_message_at))",
    )
    assert wrong == 0


def test_memberships_match_member_counts_and_markers(loaded: tuple[Engine, history.Loaded]) -> None:
    """member_count counts each room's members; a marker is within 0..last_seq, not below the member's own newest."""
    engine, _ = loaded
    assert (
        _one(
            engine,
            "SELECT COUNT(*) FROM rooms r"
            " WHERE member_count <> (SELECT COUNT(*) FROM members m WHERE m.room_id = r.id)",
        )
        == 0
    )
    assert (
        _one(
            engine,
            "SELECT COUNT(*) FROM members m JOIN rooms r ON r.id = m.room_id"
            " WHERE m.last_read_seq > r.last_seq OR m.last_read_seq < (SELECT COALESCE(MAX(seq), 0) FROM messages"
            " WHERE room_id = m.room_id AND sender_id = m.user_id)",
        )
        == 0
    )
    assert _one(engine, "SELECT COUNT(*) FROM messages g LEFT JOIN members m ON m.room_id = g.room_id"
                " AND m.user_id = g.sender_id WHERE m.user_id IS NULL") == 0  # fmt: skip


def test_unread_counters_match_the_messages(loaded: tuple[Engine, history.Loaded]) -> None:
    """timeline_count is each room's live main-timeline messages, read_count those at or below the marker."""
    engine, _ = loaded
    assert _one(engine, "SELECT COUNT(*) FROM rooms r WHERE timeline_count <> (SELECT COUNT(*) FROM messages m"
                " WHERE m.room_id = r.id AND m.deleted_at IS NULL AND m.thread_root_seq = 0)") == 0  # fmt: skip
    assert _one(engine, "SELECT COUNT(*) FROM members b WHERE read_count <> (SELECT COUNT(*) FROM messages m"
                " WHERE m.room_id = b.room_id AND m.seq <= b.last_read_seq AND m.deleted_at IS NULL)") == 0  # fmt: skip


def test_mentions_rows_match_the_messages(loaded: tuple[Engine, history.Loaded]) -> None:
    """Each mentions row names a member and is its message's `mentions` column, and the other way round."""
    engine, result = loaded
    assert result.mentions > 0
    assert _one(engine, "SELECT COUNT(*) FROM messages WHERE mentions IS NOT NULL") == result.mentions
    assert (
        _one(
            engine,
            "SELECT COUNT(*) FROM mentions n JOIN messages g ON g.room_id = n.room_id AND g.seq = n.seq"
            " JOIN members m ON m.room_id = n.room_id AND m.user_id = n.user_id"
            " WHERE g.mentions = n.user_id AND g.sender_id = n.sender_id",
        )
        == result.mentions
    )


def test_the_shape_has_big_channels_small_rooms_and_direct_rooms(loaded: tuple[Engine, history.Loaded]) -> None:
    """The largest room holds about a third of the history, and direct rooms have their pair's key."""
    engine, _ = loaded
    assert _one(engine, "SELECT MAX(last_seq) FROM rooms") >= MESSAGES // 4  # type: ignore[operator]
    assert _one(engine, "SELECT COUNT(*) FROM rooms WHERE kind = 3 AND (member_count <> 2 OR direct_key IS NULL)") == 0
    assert _one(engine, "SELECT COUNT(*) FROM rooms WHERE kind = 3") > 0  # type: ignore[operator]


def test_the_indexes_are_built_again(loaded: tuple[Engine, history.Loaded]) -> None:
    """The messages table keeps every index its migrations made, the FULLTEXT one too."""
    engine, _ = loaded
    names = _one(
        engine,
        "SELECT GROUP_CONCAT(DISTINCT index_name ORDER BY index_name) FROM information_schema.statistics"
        " WHERE table_schema = DATABASE() AND table_name = 'messages'",
    )
    assert (
        names
        == "ix_messages_body_fulltext,ix_messages_room_change,ix_messages_thread,PRIMARY,uq_messages_client_msg_id"
    )
