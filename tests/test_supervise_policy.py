"""scripts/supervise.py's restart policy on small real processes: restart, give up on a crash loop, stop at the last."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
from pathlib import Path

import pytest

from scripts.supervise import Component, Supervisor
from tests.support.processes import free_port

pytestmark = pytest.mark.timeout(60)

# Listens on its port until killed; once the flag file exists, exits at once with status 3 instead.
SERVER = """
import os, socket, sys, time
if os.path.exists(sys.argv[2]):
    sys.exit(3)
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(sys.argv[1])))
sock.listen()
time.sleep(600)
"""


def replica(name: str, flag: Path) -> Component:
    """A component of kind "server" on a free port that crash-loops once `flag` exists."""
    port = free_port()
    return Component(name, "server", [sys.executable, "-c", SERVER, str(port), str(flag)], port)


async def said(out: io.StringIO, text: str, within: float = 20) -> None:
    """Wait until the supervisor printed a line containing text."""
    async with asyncio.timeout(within):
        while text not in out.getvalue():  # noqa: ASYNC110 - polls the captured output
            await asyncio.sleep(0.02)


def kill(component: Component) -> None:
    """SIGKILL the component's current process."""
    assert component.process is not None
    os.kill(component.process.pid, signal.SIGKILL)


async def test_a_crash_looping_replica_is_left_down_while_the_others_serve_until_the_last_one_fails(
    tmp_path: Path,
) -> None:
    """One replica dies for good: it is given up and the run goes on; the last one too: all stop with status 1."""
    flag = tmp_path / "broken"
    first, second = replica("server-0", flag), replica("server-1", flag)
    out = io.StringIO()
    supervisor = Supervisor([first, second], tmp_path, restarts=2, within_s=60, out=out)
    running = asyncio.create_task(supervisor.run(banner="up\n"))
    await said(out, "up\n")
    kill(first)  # a plain death: started again, and serving
    await said(out, "server-0 is serving again")
    flag.touch()  # from now on every start fails at once
    kill(first)
    await said(out, "server-0 exited with status 3: 3 exits within 60 s, it keeps failing, so it stays down")
    await asyncio.sleep(0.5)
    assert not running.done()  # server-1 still serves
    assert second.process is not None and second.process.returncode is None
    kill(second)
    await said(out, "no server is left running; stopping everything")
    assert await asyncio.wait_for(running, 20) == 1
    assert out.getvalue().endswith("==> stopped\n")


async def test_a_component_that_never_listens_stops_the_start_with_a_pointer_to_its_log(tmp_path: Path) -> None:
    """A component that exits before listening at start: nothing else starts, status 1, and the log is named."""
    flag = tmp_path / "broken"
    flag.touch()
    later = replica("server-1", tmp_path / "fine")
    out = io.StringIO()
    supervisor = Supervisor([replica("server-0", flag), later], tmp_path, restarts=2, within_s=60, out=out)
    assert await asyncio.wait_for(supervisor.run(), 20) == 1
    assert f"server-0 did not start; see {tmp_path / 'server-0.log'}" in out.getvalue()
    assert later.process is None
