"""A Redis server of the test's own (the broker), so that a test can kill and restart it."""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass

from tests.support import IN_CI
from tests.support.processes import Daemon


def unavailable_reason() -> str | None:
    """None when redis-server can be started here, otherwise why not."""
    return None if shutil.which("redis-server") else "redis-server is not installed (apt-get install redis-server)"


def require() -> None:
    """Skip the test without redis-server; under CI=true, fail it instead (as MySQL tests do)."""
    import pytest  # only tests call this

    reason = unavailable_reason()
    if reason and IN_CI:
        pytest.fail(f"{reason}; CI=true needs it")
    if reason:
        pytest.skip(reason)


@dataclass
class RedisServer(Daemon):
    """redis-server on a port of its own, without persistence (as a restarted broker loses its streams)."""

    @property
    def url(self) -> str:
        """redis:// URL of the server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        """redis-server without persistence."""
        return ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]

    def answers(self) -> bool:
        """It answers PING."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False
