"""The real stack for a run: auth_svc, chat_svc and edge_gateway, built by tests.support.stack.

The bench's own knobs: fresh parley_bench_* MySQL databases, the services logging at WARNING (so
that logging costs nothing under load) into files in the output folder, a send limit the bench
cannot reach, long-lived access tokens, and argon2 at its lowest cost, so that the thousands of
users a run registers through the API cost milliseconds each (registration is not what is measured).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from bench import history as history_module
from bench.history import Loaded
from tests.support import mysql
from tests.support.processes import ServiceProcess, accepts, free_port as free_port, spawn, wait_until
from tests.support.stack import Stack as SupportStack


class Stack(SupportStack):
    """The three services of one run; stopping it also drops its databases and working folder."""

    def stop(self) -> None:
        """Stop the services (all at once: each waits out its own grace period), drop the databases."""
        super().stop()
        mysql.drop_created()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start(
    logs: Path, heartbeat_s: float = 20.0, otlp_endpoint: str | None = None, history: int = 0
) -> tuple[Stack, Loaded | None]:
    """Migrate fresh parley_bench_* databases and start the services with the bench's settings.

    otlp_endpoint: where every component exports its traces (--trace); None leaves tracing off.
    history: messages to pre-fill chat_db with (bench/history.py) before the services start; 0: none.
    """
    reason = mysql.unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    settings = {
        "AUTH_ACCESS_TOKEN_TTL_SECONDS": "7200",
        "AUTH_ARGON2_TIME_COST": "1",
        "AUTH_ARGON2_MEMORY_KIB": "1024",
        "AUTH_HASH_THREADS": "4",
        "CHAT_SHUTDOWN_GRACE_SECONDS": "3",
        "GATEWAY_WS_HEARTBEAT_SECONDS": str(heartbeat_s),
        **{f"{service}_LOG_LEVEL": "WARNING" for service in ("AUTH", "CHAT", "GATEWAY")},
    }
    if otlp_endpoint:
        settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp_endpoint
    stack = Stack(Path(tempfile.mkdtemp(prefix="parley-bench-")), env=settings, logs=logs)
    try:
        stack.create_databases("parley_bench")
        loaded = history_module.load(stack.chat_db_url, history) if history else None
        return stack.up(), loaded
    except BaseException:
        stack.stop()
        raise


def drop_databases() -> None:
    """Drop every database this run created (an interrupted start or load leaves no stack to stop)."""
    mysql.drop_created()


def launch(module: str, env: dict[str, str], port: int, logs: Path) -> ServiceProcess:
    """Start `python -m module serve` (the baseline server) and return once it listens on port."""
    log = logs / f"{module.replace('.', '_')}.log"
    process = spawn(module, [sys.executable, "-m", module, "serve"], env, port, log)
    wait_until(accepts(port), module, process)
    return process
