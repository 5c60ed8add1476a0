"""A MariaDB server of the test's own (its data directory, a free port), so that a test can kill it.

The shared server on 3306 is never touched: the outage tests SIGKILL this one and start it again
on the same port and data, as a crashed and restarted database (InnoDB recovers its redo log).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import MySQLdb

from tests.support import IN_CI
from tests.support.processes import Daemon

SERVER = "/usr/sbin/mariadbd"


def require() -> None:
    """Skip the test without mariadbd and mariadb-install-db; under CI=true, fail it instead."""
    import pytest  # only tests call this

    if Path(SERVER).exists() and shutil.which("mariadb-install-db"):
        return
    reason = "mariadbd is not installed (apt-get install mariadb-server)"
    if IN_CI:
        pytest.fail(f"{reason}; CI=true needs it")
    pytest.skip(reason)


@dataclass
class MariaDBServer(Daemon):
    """mariadbd on 127.0.0.1:port over datadir; root without a password, and users made with `user`."""

    datadir: Path

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the server (no database)."""
        return f"mysql+mysqldb://root@127.0.0.1:{self.port}"

    def install(self) -> MariaDBServer:
        """A fresh data directory."""
        self.datadir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        return self

    def command(self) -> list[str]:
        """mariadbd on the data directory, without the machine's option files."""
        return [
            SERVER, "--no-defaults", f"--datadir={self.datadir}", f"--port={self.port}",
            "--bind-address=127.0.0.1", f"--socket={self.datadir / 'mysqld.sock'}", "--user=root",
            "--innodb-buffer-pool-size=64M", "--skip-log-bin",
            f"--pid-file={self.datadir / 'mysqld.pid'}", f"--log-error={self.datadir / 'error.log'}",
        ]  # fmt: skip

    def sql(self, *statements: str) -> None:
        """Run statements as root."""
        conn = MySQLdb.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=3)
        try:
            cursor = conn.cursor()
            for statement in statements:
                cursor.execute(statement)
        finally:
            conn.close()

    def user(self, name: str) -> str:
        """A user with every privilege but those that pass read-only (as an application's account); its URL."""
        self.sql(
            f"CREATE USER IF NOT EXISTS '{name}'@'%'",
            f"GRANT ALL ON *.* TO '{name}'@'%'",
            f"REVOKE SUPER, READ_ONLY ADMIN ON *.* FROM '{name}'@'%'",
        )
        return f"mysql+mysqldb://{name}@127.0.0.1:{self.port}"

    def read_only(self, on: bool) -> None:
        """Refuse writes (as a primary being demoted, or a replica not yet promoted), or take them again."""
        self.sql(f"SET GLOBAL read_only = {1 if on else 0}")

    def answers(self) -> bool:
        """It takes a connection."""
        try:
            MySQLdb.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=1).close()
        except MySQLdb.Error:
            return False
        return True


@contextlib.contextmanager
def own_server(tmp: Path) -> Iterator[MariaDBServer]:
    """A test's own MariaDB server on a fresh data directory under tmp, killed at the end (skip without one)."""
    require()
    server = MariaDBServer(tmp / f"mariadb-{uuid.uuid4().hex[:6]}").install().start()
    try:
        yield server
    finally:
        server.kill()
