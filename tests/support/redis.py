"""A Redis server of the test's own (the broker), so that a test can kill and restart it."""

from __future__ import annotations

import shutil
import socket
import subprocess
from dataclasses import dataclass, field

from tests.support import IN_CI
from tests.support.processes import free_port, wait_until


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
class RedisServer:
    """redis-server on a port of its own, without persistence (as a restarted broker loses its streams)."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """redis:// URL of the server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start (again, on the same port) and wait until it answers."""
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(self.answers, f"redis-server on port {self.port}", timeout=timeout)
        except TimeoutError:
            self.stop()
            raise
        return self

    def answers(self) -> bool:
        """It answers PING."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: the broker vanishes with every stream it held."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
