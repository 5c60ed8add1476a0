"""Riding out database outages: what is retried, for how long, and what the caller hears at the end."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from common import retry
from common.db import Database
from common.errors import Unavailable
from tests.support.processes import free_port


def lost(number: int) -> OperationalError:
    """A driver error as mysqlclient raises it, wrapped by SQLAlchemy."""
    return OperationalError("COMMIT", {}, Exception(number, "Lost connection to server during query"))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A Database on SQLite (the function under test decides what fails) with a short retry window."""
    database = Database(f"sqlite:///{tmp_path / 'retry.db'}", threads=2, retry_window_s=1.0)
    try:
        yield database
    finally:
        database.close()


async def test_a_passing_failure_is_retried_until_it_succeeds(db: Database) -> None:
    """Two lost connections, then success: the caller gets the result and never sees the outage."""
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise lost(2013)
        return "stored"

    assert await db.run(flaky) == "stored"
    assert len(calls) == 3


async def test_an_outage_longer_than_the_window_answers_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    """A MySQL that cannot be reached is retried for the window, then Unavailable, with no traceback in the log."""
    database = Database(f"mysql+mysqldb://root@127.0.0.1:{free_port()}/nothing", threads=1, retry_window_s=0.6)
    started = time.monotonic()
    try:
        with caplog.at_level(logging.WARNING), pytest.raises(Unavailable, match="database is unreachable"):
            await database.run(lambda: database.engine.connect().execute(text("SELECT 1")))
    finally:
        database.close()
    assert 0.3 < time.monotonic() - started < 2.0
    assert caplog.records and not any(record.exc_info for record in caplog.records)


async def test_the_calls_deadline_bounds_the_retries(db: Database) -> None:
    """Inside a call, retries stop before its deadline (less the margin to answer), not at the window."""
    retry.call_deadline.set(time.monotonic() + 0.4)
    started = time.monotonic()

    def down() -> None:
        raise lost(2006)

    with pytest.raises(Unavailable):
        await db.run(down)
    assert time.monotonic() - started < 0.4


async def test_an_operation_not_safe_twice_is_not_retried_after_a_lost_connection(db: Database) -> None:
    """run_once: a failure mid-transaction (the commit may have happened) goes to the caller at once."""
    calls = []

    def create() -> None:
        calls.append(1)
        raise lost(2013)

    with pytest.raises(OperationalError):
        await db.run_once(create)
    assert len(calls) == 1


async def test_an_operation_not_safe_twice_is_retried_when_nothing_was_sent(db: Database) -> None:
    """run_once: "can't connect" means nothing reached the server, so it is retried like any other."""
    calls = []

    def create() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise lost(2003)
        return "created"

    assert await db.run_once(create) == "created"


async def test_a_mistake_is_not_retried(db: Database) -> None:
    """An error that is not an outage (bad SQL, a bug) reaches the caller at once."""
    calls = []

    def broken() -> None:
        calls.append(1)
        raise OperationalError("SELECT nope", {}, Exception(1054, "Unknown column"))

    with pytest.raises(OperationalError):
        await db.run(broken)
    assert len(calls) == 1
