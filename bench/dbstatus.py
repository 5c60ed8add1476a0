"""What MariaDB's own counters say about a window: rows read and pages fetched from disk (SHOW GLOBAL STATUS).

Server-wide: anything else the server does meanwhile (another database's tests) counts too, so the
figures are an upper bound for the bench's share.
"""

from __future__ import annotations

from sqlalchemy import create_engine, text

ROWS = ("Handler_read_key", "Handler_read_next", "Handler_read_prev", "Handler_read_rnd_next")  # rows read, by how
PAGES = ("Innodb_buffer_pool_read_requests", "Innodb_buffer_pool_reads")  # pages asked for; of those, from disk
COUNTERS = ROWS + PAGES


def read(url: str) -> dict[str, int]:
    """The counters now."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = ", ".join(f"'{name}'" for name in COUNTERS)
            rows = conn.execute(text(f"SHOW GLOBAL STATUS WHERE Variable_name IN ({names})"))
            return {str(name): int(value) for name, value in rows}
    finally:
        engine.dispose()


def figures(before: dict[str, int], after: dict[str, int], messages: int) -> dict[str, float]:
    """Rows read (every Handler_read_* together), pages asked for and pages from disk, per 1,000 messages."""
    if not messages:
        return {}

    def grew(names: tuple[str, ...]) -> float:
        return sum(after.get(name, 0) - before.get(name, 0) for name in names) * 1000 / messages

    return {
        "db_rows_read_per_1k_msgs": grew(ROWS),
        "db_page_requests_per_1k_msgs": grew(PAGES[:1]),
        "db_disk_reads_per_1k_msgs": grew(PAGES[1:]),
    }
