"""Database engines and a bounded thread pool that keeps blocking calls off the event loop.

mysqlclient blocks, so every query runs in `Database.run`, on a pool of worker threads (it releases
the GIL while waiting on MySQL). The pool size equals the connection pool size, so a thread never
waits for a connection. `run` also rides out a short outage of the database (common/retry.py).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import sqlalchemy
from sqlalchemy import BigInteger, DateTime, Engine, Integer, event, text
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from common import retry
from common.errors import Unavailable

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger(__name__)


def make_engine(url: str, pool_size: int = 8, echo: bool = False) -> Engine:
    """An engine for SQLite (the laptop default) or MySQL/MariaDB via mysqlclient.

    Made through `sqlalchemy.create_engine` looked up at call time, which the SQLAlchemy tracing
    instrumentation patches (common/tracing.py). Parameters are hidden from log lines and error
    messages: they hold message bodies and password hashes.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sqlalchemy.create_engine(
            url, echo=echo, hide_parameters=True, connect_args={"timeout": 30, "check_same_thread": False}
        )

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
        # A database that moved or died mid-failover must not hold a worker for minutes: fail fast
        # (the host name is resolved again on every connect, so a new address is picked up).
        connect_args["connect_timeout"] = 5
    return sqlalchemy.create_engine(
        url,
        echo=echo,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args=connect_args,
    )


class Database:
    """An engine, a session factory and the worker threads that use them.

    `retry_window_s` is how long `run` keeps retrying a transient failure outside a gRPC call, as in
    the group commit's lanes (in a call: until its deadline); 0 means no retries outside a call.
    """

    def __init__(self, url: str, threads: int = 8, retry_window_s: float = 4.0) -> None:
        self.engine = make_engine(url, pool_size=threads)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="db")
        self._retry_window_s = retry_window_s

    @property
    def is_sqlite(self) -> bool:
        """True on the embedded SQLite default."""
        return self.engine.dialect.name == "sqlite"

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking function on a worker thread and await its result; transient failures retried.

        For functions safe to run twice (see common/retry.py); others go through `run_once`.
        """
        return await self._run(fn, False, *args, **kwargs)

    async def run_once(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """As `run`, for a function not safe to run twice: retried only when no connection could be made."""
        return await self._run(fn, True, *args, **kwargs)

    async def _run(self, fn: Callable[P, T], once: bool, *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        pauses = None
        while True:
            ctx = contextvars.copy_context()
            call = functools.partial(ctx.run, fn, *args, **kwargs)
            try:
                result = await loop.run_in_executor(self._executor, call)
            except Exception as exc:
                if not retry.transient(exc) or (once and not retry.cannot_connect(exc)):
                    raise
                if pauses is None:
                    until = retry.retry_until(self._retry_window_s)
                    pauses = retry.backoff(until)
                    log.warning(
                        "database: %s; retrying %s for up to %.1f s", _short(exc), _name(fn), until - time.monotonic()
                    )
                pause = next(pauses, None)
                if pause is None:
                    log.warning("database: still failing (%s); %s answered unavailable", _short(exc), _name(fn))
                    raise Unavailable("the database is unreachable; retry shortly") from exc
                await asyncio.sleep(pause)
                continue
            if pauses is not None:
                log.info("database: %s succeeded after retrying", _name(fn))
            return result

    async def ping(self) -> str | None:
        """None when the database answers `SELECT 1` now (no retries), else what went wrong, in one line."""

        def select_one() -> None:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, select_one)
        except Exception as exc:  # noqa: BLE001 - any failure means "not now"
            return f"the database is unreachable ({_short(exc)})"
        return None

    def close(self) -> None:
        """Stop the workers (after running queued work) and close connections."""
        self._executor.shutdown(wait=True)
        self.engine.dispose()


def _short(exc: BaseException) -> str:
    """A database error in one line, without the SQL."""
    orig = getattr(exc, "orig", exc)
    return f"{type(orig).__name__}: {orig}".splitlines()[0][:200]


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", repr(fn))


# Column types that behave the same on both engines: MySQL keeps microseconds only when asked,
# and SQLite autoincrements only INTEGER PRIMARY KEY.
PreciseDateTime = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BigId = BigInteger().with_variant(Integer, "sqlite")
