"""Suite-wide fixtures: MySQL test databases, and the rule for when MySQL is missing.

Tests marked `mysql` need the MariaDB/MySQL at PARLEY_TEST_MYSQL_URL (default root@127.0.0.1:3306).
When it is unreachable they are skipped and the summary says so plainly - except under CI=true,
where a missing database is a failure, not a skip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support import IN_CI, mysql, redis


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Browser tests last: sync Playwright leaves an event loop marked running for the session, which
    # would break any asyncio test collected after it.
    items.sort(key=lambda item: "browser" in item.keywords)
    reason = mysql.unavailable_reason()
    if reason is None or not any("mysql" in item.keywords for item in items):
        return
    if IN_CI:
        raise pytest.UsageError(f"CI=true and {reason}; start MariaDB (see .ci/run)")
    config.stash[_SKIPPED] = reason
    for item in items:
        if "mysql" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


_SKIPPED = pytest.StashKey[str]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if mysql.unavailable_reason() is None:
        mysql.drop_created()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    reason = config.stash.get(_SKIPPED, None)
    if reason:
        terminalreporter.write_sep("!", "MySQL tests were SKIPPED", yellow=True, bold=True)
        terminalreporter.write_line(f"{reason}. Start MariaDB and rerun to test against MySQL.")


@pytest.fixture
def mysql_db() -> Callable[[str], str]:
    """Factory: a freshly created, empty MySQL database parley_test_<suffix>_<run id>; returns its URL."""

    def make(suffix: str) -> str:
        return mysql.fresh_database(f"parley_test_{suffix}")

    return make


@pytest.fixture
def broker() -> Iterator[redis.RedisServer]:
    """A redis-server of the test's own, stopped afterwards (a skip without redis-server; under CI=true, a failure)."""
    redis.require()
    server = redis.RedisServer().start()
    try:
        yield server
    finally:
        server.stop()
