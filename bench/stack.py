"""The real stack for a run: auth_svc, chat_svc and edge_gateway as processes on fresh MySQL databases.

Ports are picked here (bound to port 0, then released) rather than read from the services' "listening
on" log line, because that line is logged at INFO and the bench runs the services at WARNING so that
logging costs nothing under load. Logs go to files in the output folder.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from tests.support import mysql
from tests.support.processes import ROOT, ServiceProcess, run_command


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[str], log: Path, timeout: float = 30.0) -> None:
    """Wait until something accepts connections on port; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{process.args!r} did not listen on {port} within {timeout} s")


def spawn(module: str, env: dict[str, str], logs: Path) -> tuple[subprocess.Popen[str], Path]:
    """Start `python -m module serve` with its log in logs/<module>.log."""
    log = logs / f"{module.replace('.', '_')}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module, "serve"],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    return process, log


def launch(module: str, env: dict[str, str], port: int, logs: Path) -> ServiceProcess:
    """Start `python -m module serve` and return once it listens on port."""
    process, log = spawn(module, env, logs)
    wait_for_port(port, process, log)
    return ServiceProcess(module, process, port)


@dataclass
class Stack:
    """The three services of one run, and what the bench needs to seed and check them."""

    auth: ServiceProcess
    chat: ServiceProcess
    gateway: ServiceProcess
    auth_db_url: str
    chat_db_url: str
    keys_dir: Path
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        """http://host:port of the gateway."""
        return f"http://{self.gateway.address}"

    @property
    def pids(self) -> dict[str, int]:
        """Process id of each service."""
        return {p.module: p.process.pid for p in (self.auth, self.chat, self.gateway)}

    def stop(self) -> None:
        """Stop the services (all at once: each waits out its own grace period), drop the databases."""
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(ServiceProcess.stop, (self.gateway, self.chat, self.auth)))
        mysql.drop_created()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start(logs: Path, heartbeat_s: float = 20.0) -> Stack:
    """Migrate fresh parley_bench_* databases and start the services with the bench's settings."""
    reason = mysql.unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    keys_dir = workdir / "auth_keys"
    secret = secrets.token_urlsafe(24)
    auth_db, chat_db = mysql.fresh_database("parley_bench_auth"), mysql.fresh_database("parley_bench_chat")
    auth_port, chat_port, gateway_port = free_port(), free_port(), free_port()
    env = {
        "AUTH_HOST": "127.0.0.1",
        "AUTH_PORT": str(auth_port),
        "AUTH_DATABASE_URL": auth_db,
        "AUTH_KEYS_DIR": str(keys_dir),
        "AUTH_SERVICE_CLIENTS": orjson.dumps({"edge_gateway": secret}).decode(),
        "AUTH_ACCESS_TOKEN_TTL_SECONDS": "7200",
        "AUTH_LOG_LEVEL": "WARNING",
        "CHAT_HOST": "127.0.0.1",
        "CHAT_PORT": str(chat_port),
        "CHAT_DATABASE_URL": chat_db,
        "CHAT_AUTH_ADDRESS": f"127.0.0.1:{auth_port}",
        # The per-user send limit protects production from one noisy user; the bench is that user.
        "CHAT_SEND_RATE_PER_SECOND": "1000000",
        "CHAT_SEND_BURST": "1000000",
        "CHAT_SHUTDOWN_GRACE_SECONDS": "3",
        "CHAT_LOG_LEVEL": "WARNING",
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(gateway_port),
        "GATEWAY_AUTH_ADDRESS": f"127.0.0.1:{auth_port}",
        "GATEWAY_CHAT_ADDRESS": f"127.0.0.1:{chat_port}",
        "GATEWAY_CLIENT_SECRET": secret,
        "GATEWAY_WS_HEARTBEAT_SECONDS": str(heartbeat_s),
        "GATEWAY_SHUTDOWN_GRACE_SECONDS": "2",
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    # Each step starts Python processes that spend seconds importing: run them side by side. The
    # gateway retries its event stream until chat_svc is up, and /readyz says when it is live.
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda module: run_command(module, "migrate", env), ["auth_svc", "chat_svc"]))
    ports = {"auth_svc": auth_port, "chat_svc": chat_port, "edge_gateway": gateway_port}
    started: list[ServiceProcess] = []
    try:
        for module, port in ports.items():
            process, _ = spawn(module, env, logs)
            started.append(ServiceProcess(module, process, port))
        for service in started:
            wait_for_port(service.port, service.process, logs / f"{service.module}.log")
        _wait_until_live(f"http://127.0.0.1:{gateway_port}")
    except BaseException:
        for service in reversed(started):
            service.stop()
        mysql.drop_created()
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    auth, chat, gateway = started
    return Stack(auth, chat, gateway, auth_db, chat_db, keys_dir, workdir, env)


def _wait_until_live(url: str, timeout: float = 20.0) -> None:
    """/readyz answers 200 once the gateway's event stream from chat_svc is live."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the gateway at {url} never became ready (/readyz)")
