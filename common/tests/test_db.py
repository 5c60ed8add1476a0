"""Database: blocking work on worker threads, and engines that behave alike on SQLite and MySQL."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, Table, insert, select, text

from common.db import BigId, Database, PreciseDateTime, make_engine

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A Database on a temp SQLite file, with two worker threads."""
    database = Database(f"sqlite:///{tmp_path / 'db' / 'test.db'}", threads=2)
    try:
        yield database
    finally:
        database.close()


async def test_run_uses_a_worker_thread(db: Database) -> None:
    """Database.run calls the function on another thread than the event loop's, and returns its result."""
    loop_thread = threading.get_ident()
    worker_thread, name = await db.run(lambda: (threading.get_ident(), threading.current_thread().name))
    assert worker_thread != loop_thread
    assert name.startswith("db")


async def test_run_passes_arguments(db: Database) -> None:
    """Positional and keyword arguments reach the function."""

    def combine(a: int, b: int, *, scale: int) -> int:
        return (a + b) * scale

    assert await db.run(combine, 2, 3, scale=10) == 50


async def test_run_raises_the_functions_error(db: Database) -> None:
    """An exception in the function is raised by the await."""

    def broken() -> None:
        raise LookupError("from the worker")

    with pytest.raises(LookupError, match="from the worker"):
        await db.run(broken)


async def test_run_carries_context_variables(db: Database) -> None:
    """Context variables set by the caller (request ids, for logs) are visible in the worker."""
    REQUEST_ID.set("req-42")
    assert await db.run(REQUEST_ID.get) == "req-42"


async def test_event_loop_stays_free_while_work_blocks(db: Database) -> None:
    """While a worker blocks for 200 ms, the event loop keeps running other tasks."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    try:
        await db.run(time.sleep, 0.2)
    finally:
        task.cancel()
    assert ticks >= 5


async def test_workers_are_bounded(db: Database) -> None:
    """With threads=2, no more than two calls run at once however many are awaited together."""
    running = peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.03)
        with lock:
            running -= 1

    await asyncio.gather(*(db.run(work) for _ in range(6)))
    assert peak == 2


def test_sqlite_file_folder_is_created(db: Database, tmp_path: Path) -> None:
    """A SQLite URL in a missing folder gets its folder created."""
    assert (tmp_path / "db").is_dir()
    assert db.is_sqlite


@pytest.mark.parametrize(("pragma", "expected"), [("journal_mode", "wal"), ("foreign_keys", 1)])
def test_sqlite_pragmas(db: Database, pragma: str, expected: object) -> None:
    """SQLite connections use WAL and enforce foreign keys, like MySQL does."""
    with db.engine.connect() as conn:
        assert conn.execute(text(f"PRAGMA {pragma}")).scalar() == expected


def test_sqlite_in_memory_url_works() -> None:
    """An in-memory SQLite URL needs no folder."""
    engine = make_engine("sqlite:///:memory:")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def _stamps() -> tuple[MetaData, Table]:
    metadata = MetaData()
    table = Table(
        "stamps", metadata, Column("id", BigId, primary_key=True, autoincrement=True), Column("at", PreciseDateTime)
    )
    return metadata, table


def _round_trip(url: str) -> tuple[int, datetime]:
    """Store one row in a fresh `stamps` table and read back (id, at)."""
    metadata, table = _stamps()
    engine = make_engine(url)
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(table).values(at=datetime(2026, 1, 2, 3, 4, 5, 123456)))
        with engine.connect() as conn:
            row = conn.execute(select(table.c.id, table.c.at)).one()
        return row.id, row.at
    finally:
        engine.dispose()


def test_sqlite_keeps_microseconds_and_autoincrements(tmp_path: Path) -> None:
    """On SQLite, PreciseDateTime keeps microseconds and a BigId primary key autoincrements."""
    assert _round_trip(f"sqlite:///{tmp_path / 'x.db'}") == (1, datetime(2026, 1, 2, 3, 4, 5, 123456))


@pytest.mark.mysql
def test_mysql_keeps_microseconds_and_autoincrements(mysql_db: Callable[[str], str]) -> None:
    """On MySQL/MariaDB, PreciseDateTime keeps microseconds and a BigId primary key autoincrements."""
    assert _round_trip(mysql_db("auth_common_db")) == (1, datetime(2026, 1, 2, 3, 4, 5, 123456))


@pytest.mark.mysql
def test_mysql_connection_is_utf8mb4(mysql_db: Callable[[str], str]) -> None:
    """MySQL connections speak utf8mb4, so 4-byte characters (emoji) survive."""
    engine = make_engine(mysql_db("auth_common_charset"))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT @@character_set_client")).scalar() == "utf8mb4"
            assert conn.execute(text("SELECT :s"), {"s": "🎉"}).scalar() == "🎉"
    finally:
        engine.dispose()
