"""Fresh MySQL/MariaDB databases for tests, and whether the server is reachable at all."""

from __future__ import annotations

import os
from functools import cache

import MySQLdb
from sqlalchemy.engine import make_url

# Root of the test server; each test database is created (and dropped first) under it.
SERVER_URL = os.environ.get("PARLEY_TEST_MYSQL_URL", "mysql+mysqldb://root@127.0.0.1:3306")
# Database names end with this run's id, so that two suites running at once (two checkouts, CI
# beside a developer) never drop each other's databases. Created databases are dropped at the end.
RUN_ID = os.environ.get("PARLEY_TEST_RUN_ID") or str(os.getpid())
_created: list[str] = []


def _connect(server_url: str = SERVER_URL) -> MySQLdb.Connection:
    url = make_url(server_url)
    return MySQLdb.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "root",
        passwd=url.password or "",
        connect_timeout=3,
    )


@cache
def unavailable_reason() -> str | None:
    """None when MySQL answers, otherwise why not."""
    try:
        _connect().close()
    except MySQLdb.Error as exc:
        return f"MySQL at {make_url(SERVER_URL).render_as_string(hide_password=True)} is unreachable: {exc}"
    return None


def fresh_database(name: str, server_url: str = SERVER_URL) -> str:
    """Create an empty database `<name>_<run id>` (dropping a leftover); return its SQLAlchemy URL.

    On the shared test server unless `server_url` names another (one a test started itself).
    """
    assert name.replace("_", "").isalnum(), name
    name = f"{name}_{RUN_ID}"[:64]
    conn = _connect(server_url)
    try:
        cursor = conn.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        conn.close()
    if server_url == SERVER_URL:
        _created.append(name)  # a test's own server goes away with its data directory
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_created() -> None:
    """Drop every database this run created."""
    if not _created:
        return
    conn = _connect()
    try:
        cursor = conn.cursor()
        for name in _created:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        _created.clear()
    finally:
        conn.close()
