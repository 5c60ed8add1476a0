"""Start every Parley component and keep them running: the supervisor behind `scripts/run`.

scripts/run prepares the machine (.venv, migrations, the gateway's secret, the environment) and then
runs this. It starts auth_svc, the chat_svc replicas, the gateways, the dev balancer (with
--replicas N > 1) and the built web app, each waiting for the one before to listen, and then watches
them. A component that exits is started again on the same port (so the balancer and the gateways'
round robin over the chat_svc replicas find it again) while the others keep serving; a restarted
gateway gets a new GATEWAY_INSTANCE_ID, so that the others bury the dead one's presence. A component
that exits more than --restarts times within --within seconds is crash-looping: it is given up, and
when it was the last of its kind (auth_svc, the balancer and the web app are always the last)
everything stops with status 1. Ctrl-C (SIGINT) or SIGTERM stops everything cleanly: SIGTERM to each
component, which finishes its in-flight calls.

    python scripts/supervise.py [--replicas N] [--restarts 5] [--within 60] [--no-webapp] [--observe]

Ports come from AUTH_PORT, CHAT_PORT, GATEWAY_PORT and WEB_PORT (as scripts/run sets them): chat_svc
replica i listens on CHAT_PORT + 10 i; with replicas, gateway i on GATEWAY_PORT + 1 + i and the
balancer on GATEWAY_PORT. Each serves its metrics on AUTH_METRICS_PORT, CHAT_METRICS_PORT + 10 i and
GATEWAY_METRICS_PORT + 10 i. With --observe a Prometheus (Debian's, PARLEY_PROMETHEUS or
/usr/bin/prometheus) scrapes every one of them from PARLEY_PROMETHEUS_PORT (9190: not Prometheus'
usual 9090, which a system-wide one may hold), its configuration and data under var/prometheus/.
Output goes to the terminal and to var/log/<name>.log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import orjson

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
# Job names as in the manifests (deploy/k8s): the dashboard and alerts (deploy/observability) select on them.
JOBS = {"auth_svc": "auth-svc", "chat_svc": "chat-svc", "edge_gateway": "edge-gateway"}


@dataclass
class Component:
    """One process to keep running: how to start it and what became of it."""

    name: str  # chat_svc-1
    kind: str  # chat_svc: the last live one of a kind that gives up stops everything
    command: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)  # on top of the supervisor's environment
    instance_env: str = ""  # a variable that gets a fresh value per start (GATEWAY_INSTANCE_ID)
    metrics_port: int | None = None  # where it serves /metrics
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    exits: deque[float] = field(default_factory=deque)  # monotonic times of recent exits
    given_up: bool = False


def plan(replicas: int, env: dict[str, str], webapp: bool) -> list[Component]:
    """The components of scripts/run, in start order."""
    auth_port, chat_port = int(env.get("AUTH_PORT", "50051")), int(env.get("CHAT_PORT", "50052"))
    gateway_port = int(env.get("GATEWAY_PORT", "8000"))
    # Metrics ports as the settings' defaults, 10 apart per replica (each process serves its own).
    chat_metrics, gateway_metrics = (
        int(env.get("CHAT_METRICS_PORT", "9102")),
        int(env.get("GATEWAY_METRICS_PORT", "9103")),
    )
    many = replicas > 1
    chat_ports = [chat_port + 10 * i for i in range(replicas)]
    gateway_ports = [gateway_port + 1 + i for i in range(replicas)] if many else [gateway_port]
    if many:  # every gateway round-robins over every replica
        chat_target = "ipv4:" + ",".join(f"127.0.0.1:{p}" for p in chat_ports)
    else:
        chat_target = env.get("GATEWAY_CHAT_ADDRESS", f"127.0.0.1:{chat_port}")
    auth_metrics = int(env.get("AUTH_METRICS_PORT", "9101"))
    auth = Component("auth_svc", "auth_svc", [PYTHON, "-m", "auth_svc", "serve"], auth_port, metrics_port=auth_metrics)
    components = [auth]
    for i, port in enumerate(chat_ports):
        name = f"chat_svc-{i}" if many else "chat_svc"
        chat_env = {"CHAT_PORT": str(port), "CHAT_METRICS_PORT": str(chat_metrics + 10 * i)}
        command = [PYTHON, "-m", "chat_svc", "serve"]
        components.append(Component(name, "chat_svc", command, port, chat_env, metrics_port=chat_metrics + 10 * i))
    for i, port in enumerate(gateway_ports):
        name = f"edge_gateway-{i}" if many else "edge_gateway"
        gateway_env = {
            "GATEWAY_PORT": str(port),
            "GATEWAY_METRICS_PORT": str(gateway_metrics + 10 * i),
            "GATEWAY_INSTANCE_ID": f"gateway-{i}",
            "GATEWAY_CHAT_ADDRESS": chat_target,
        }
        command = [PYTHON, "-m", "edge_gateway", "serve"]
        metrics = gateway_metrics + 10 * i
        components.append(
            Component(name, "edge_gateway", command, port, gateway_env, "GATEWAY_INSTANCE_ID", metrics_port=metrics)
        )
    if many:
        balancer = [PYTHON, str(ROOT / "scripts" / "balancer.py"), str(gateway_port), *map(str, gateway_ports)]
        components.append(Component("balancer", "balancer", balancer, gateway_port))
    server_js = ROOT / "webapp" / ".next" / "standalone" / "server.js"
    if webapp and server_js.exists():
        web_port = int(env.get("WEB_PORT", "3000"))
        web_env = {"PORT": str(web_port), "HOSTNAME": "0.0.0.0", "NEXT_TELEMETRY_DISABLED": "1"}
        components.append(Component("webapp", "webapp", ["node", str(server_js)], web_port, web_env))
    return components


def prometheus_config(components: list[Component], alerts: Path, interval_s: float = 5.0) -> dict[str, Any]:
    """A Prometheus configuration scraping every component's metrics port; instance = the component's name."""
    jobs: dict[str, list[dict[str, Any]]] = {}
    for c in components:
        if c.metrics_port is not None and c.kind in JOBS:
            group = {"targets": [f"127.0.0.1:{c.metrics_port}"], "labels": {"instance": c.name}}
            jobs.setdefault(JOBS[c.kind], []).append(group)
    interval = f"{interval_s:g}s"
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(alerts)],
        "scrape_configs": [{"job_name": job, "static_configs": groups} for job, groups in jobs.items()],
    }


def prometheus(components: list[Component], env: dict[str, str], folder: Path) -> Component:
    """The Prometheus of --observe: its configuration written into folder, its data kept there too."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "prometheus.yml"
    alerts = ROOT / "deploy" / "observability" / "alerts.yml"
    config.write_bytes(orjson.dumps(prometheus_config(components, alerts)))  # JSON is YAML
    port = int(env.get("PARLEY_PROMETHEUS_PORT", "9190"))
    command = [
        env.get("PARLEY_PROMETHEUS", "/usr/bin/prometheus"),
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'data'}",
        "--storage.tsdb.retention.time=2d",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    return Component("prometheus", "prometheus", command, port)


async def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


class Supervisor:
    """Starts components in order, restarts the ones that exit, stops them all on a signal."""

    def __init__(
        self, components: list[Component], log_dir: Path, restarts: int, within_s: float, out: TextIO = sys.stdout
    ) -> None:
        self.components = components
        self.log_dir = log_dir
        self.restarts = restarts
        self.within_s = within_s
        self.out = out
        self.stopping = asyncio.Event()
        self.status = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def say(self, text: str) -> None:
        """A line of the supervisor's own, marked like scripts/run's."""
        self.out.write(f"==> {text}\n")
        self.out.flush()

    async def run(self, banner: str = "", start_timeout_s: float = 60.0) -> int:
        """Start everything, supervise until a signal or a crash loop; the exit status."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stopping.set)
        try:
            for component in self.components:
                if self.stopping.is_set() or not await self._first_start(component, start_timeout_s):
                    return await self._stop_all(1 if not self.stopping.is_set() else 0)
            if banner:
                self.out.write(banner)
                self.out.flush()
            for component in self.components:
                self._spawn(self._watch(component))
            await self.stopping.wait()
            return await self._stop_all(self.status)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    async def _first_start(self, component: Component, timeout_s: float) -> bool:
        process = await self._start(component)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self.stopping.is_set():
            if await listening(component.port):
                return True
            if process.returncode is not None:
                break
            await asyncio.sleep(0.1)
        if not self.stopping.is_set():
            self.say(f"{component.name} did not start; see {self.log_dir / component.name}.log")
        return False

    async def _start(self, component: Component) -> asyncio.subprocess.Process:
        component.starts += 1
        env = {**os.environ, **component.env}
        if component.instance_env and component.starts > 1:  # a new name: the old one's presence expires
            env[component.instance_env] = f"{component.env[component.instance_env]}.{component.starts}"
        process = await asyncio.create_subprocess_exec(
            *component.command,
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            process_group=0,  # the terminal's Ctrl-C reaches only us; we stop the components in turn
        )
        component.process = process
        self._spawn(self._copy_output(component, process))
        self.say(f"started {component.name} (pid {process.pid}) on :{component.port}")
        return process

    async def _copy_output(self, component: Component, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        with (self.log_dir / f"{component.name}.log").open("ab") as log:
            while line := await process.stdout.readline():
                log.write(line)
                log.flush()
                self.out.write(line.decode(errors="replace"))
                self.out.flush()

    async def _watch(self, component: Component) -> None:
        """Restart the component each time it exits, until it crash-loops or everything stops."""
        while not self.stopping.is_set():
            process = component.process
            assert process is not None
            status = await process.wait()
            if self.stopping.is_set():
                return
            now = time.monotonic()
            component.exits.append(now)
            while component.exits and component.exits[0] < now - self.within_s:
                component.exits.popleft()
            how = f"was killed by {signal.Signals(-status).name}" if status < 0 else f"exited with status {status}"
            if len(component.exits) > self.restarts:
                self._give_up(component, how)
                return
            delay = min(0.5 * 2 ** (len(component.exits) - 1), 5.0)
            self.say(
                f"{component.name} (pid {process.pid}) {how}; starting it again on :{component.port} in {delay:g} s"
            )
            await asyncio.sleep(delay)
            if self.stopping.is_set():
                return
            restarted = await self._start(component)
            if self.stopping.is_set():  # Ctrl-C came while it was starting: _stop_all may not have seen it
                with contextlib.suppress(ProcessLookupError):
                    restarted.terminate()
                return
            self._spawn(self._announce_back(component, restarted))

    async def _announce_back(self, component: Component, process: asyncio.subprocess.Process) -> None:
        while process.returncode is None and not self.stopping.is_set():
            if await listening(component.port):
                self.say(f"{component.name} is serving again on :{component.port} (pid {process.pid})")
                return
            await asyncio.sleep(0.1)

    def _give_up(self, component: Component, how: str) -> None:
        component.given_up = True
        log = self.log_dir / f"{component.name}.log"
        self.say(
            f"{component.name} {how}: {len(component.exits)} exits within {self.within_s:g} s, "
            f"it keeps failing, so it stays down; see {log}"
        )
        if all(c.given_up for c in self.components if c.kind == component.kind):
            self.say(f"no {component.kind} is left running; stopping everything")
            self.status = 1
            self.stopping.set()

    async def _stop_all(self, status: int, grace_s: float = 30.0) -> int:
        """SIGTERM to every running component (they finish in-flight calls), SIGKILL after grace_s."""
        running = [c.process for c in self.components if c.process is not None and c.process.returncode is None]
        if running:
            self.say("stopping (finishing in-flight calls)")
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in running)), grace_s)
        except TimeoutError:
            for process in running:
                if process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()
        if self._tasks:  # the components' last lines of output
            _, late = await asyncio.wait(set(self._tasks), timeout=2)
            for task in late:
                task.cancel()
        self.say("stopped")
        return status

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def banner(components: list[Component], replicas: int, env: dict[str, str]) -> str:
    """Where to reach each component, printed once everything listens."""
    by_kind: dict[str, list[int]] = {}
    for component in components:
        by_kind.setdefault(component.kind, []).append(component.port)
    gateway_port = env.get("GATEWAY_PORT", "8000")
    if "webapp" in by_kind:
        web = f"    web app   http://127.0.0.1:{by_kind['webapp'][0]}   <- open this in a browser"
    else:
        web = "    web app   not built (needs Node.js 20+; see webapp/README.md)"
    auth = f"127.0.0.1:{by_kind['auth_svc'][0]}"
    chats = " ".join(f"127.0.0.1:{p}" for p in by_kind["chat_svc"])
    lines = [
        "",
        "  Parley is running.",
        web,
        f"    gateway   HTTP  http://127.0.0.1:{gateway_port}   (REST under /api/v1, docs at /api/v1/docs)",
        f"              WS    ws://127.0.0.1:{gateway_port}/api/v1/ws   (see docs/protocol.md)",
        f"    auth_svc  gRPC  {auth}   (grpcurl -plaintext {auth} list)",
        f"    chat_svc  gRPC  {chats}   (grpcurl -plaintext {chats.split()[0]} list)",
    ]
    if replicas > 1:
        gateways = " ".join(map(str, by_kind["edge_gateway"]))
        broker = env.get("PARLEY_BROKER_URL", "")
        lines.append(
            f"    {replicas} gateways on ports {gateways} behind the balancer on :{gateway_port}; broker {broker}"
        )
    metrics = [f"{c.name} http://127.0.0.1:{c.metrics_port}/metrics" for c in components if c.metrics_port]
    if metrics:
        lines.append("    metrics   " + "\n              ".join(metrics))
    if env.get("PARLEYCTL_CONFIG"):
        config = os.path.relpath(env["PARLEYCTL_CONFIG"], ROOT)
        lines.append(f"    operator  .venv/bin/parleyctl --config {config} users find   (docs/grpc-api.md)")
    if "prometheus" in by_kind:
        lines.append(
            f"    Prometheus http://127.0.0.1:{by_kind['prometheus'][0]}   (graphs, alerts; docs/observability.md)"
        )
    lines += [
        "  A component that dies is started again (try kill -9 on one of the pids above; docs/scaling.md).",
        "  Logs: var/log/. grpcurl: .venv/bin/grpcurl. Press Ctrl-C to stop.",
        "",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Parse the command line and supervise until stopped."""
    parser = argparse.ArgumentParser(prog="scripts/supervise.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=1, help="chat_svc replicas and gateways (1..99)")
    parser.add_argument("--restarts", type=int, default=5, help="restarts allowed within --within seconds")
    parser.add_argument("--within", type=float, default=60.0, help="the crash-loop window in seconds")
    parser.add_argument("--no-webapp", action="store_true", help="do not start the built web app")
    parser.add_argument("--observe", action="store_true", help="also run a Prometheus scraping every component")
    parser.add_argument("--log-dir", type=Path, default=ROOT / "var" / "log")
    args = parser.parse_args()
    if not 1 <= args.replicas <= 99:
        parser.error("--replicas must be 1..99")
    args.log_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    components = plan(args.replicas, env, webapp=not args.no_webapp)
    if args.observe:
        components.append(prometheus(components, env, ROOT / "var" / "prometheus"))
    supervisor = Supervisor(components, args.log_dir, args.restarts, args.within)
    sys.exit(asyncio.run(supervisor.run(banner(components, args.replicas, env))))


if __name__ == "__main__":
    main()
