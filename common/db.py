"""Database engines and a bounded thread pool that keeps blocking calls off the event loop.

mysqlclient blocks, so every query runs in `Database.run`, on a pool of worker threads (it releases
the GIL while waiting on MySQL). The pool size equals the connection pool size, so a thread never
waits for a connection.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import BigInteger, DateTime, Engine, Integer, create_engine, event
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

P = ParamSpec("P")
T = TypeVar("T")


def make_engine(url: str, pool_size: int = 8, echo: bool = False) -> Engine:
    """An engine for SQLite (the laptop default) or MySQL/MariaDB via mysqlclient."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "mysql":
        connect_args["charset"] = "utf8mb4"
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args=connect_args,
    )


class Database:
    """An engine, a session factory and the worker threads that use them."""

    def __init__(self, url: str, threads: int = 8) -> None:
        self.engine = make_engine(url, pool_size=threads)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="db")

    @property
    def is_sqlite(self) -> bool:
        """True on the embedded SQLite default."""
        return self.engine.dialect.name == "sqlite"

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking function on a worker thread and await its result."""
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        call = functools.partial(ctx.run, fn, *args, **kwargs)
        return await loop.run_in_executor(self._executor, call)

    def close(self) -> None:
        """Stop the workers (after running queued work) and close connections."""
        self._executor.shutdown(wait=True)
        self.engine.dispose()


# Column types that behave the same on both engines: MySQL keeps microseconds only when asked,
# and SQLite autoincrements only INTEGER PRIMARY KEY.
PreciseDateTime = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BigId = BigInteger().with_variant(Integer, "sqlite")
