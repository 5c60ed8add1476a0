"""The command line of scripts/bench: start the stack (or use a running gateway), run the scenarios,
then (with --history) again on a chat_db pre-filled with stored messages, then the baseline, and
write the report.

Exit status: 0 when every scenario ran with no loss, duplicate or error; 2 when one had any; 1 on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report, scenarios
from bench.procstat import database_pid, raise_nofile
from bench.results import ScenarioResult
from bench.scenarios import QUICK, SCENARIOS, Sizes
from bench.targets import Baseline, ParleyRemote, ParleyStack, Target
from bench.workers import Pool
from tests.support.otlp import Collector


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: finishes within a minute (smoke test)")
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma list of {', '.join(SCENARIOS)}")
    parser.add_argument("--target-url", help="drive this running gateway (http://host:port) instead of a new stack")
    parser.add_argument("--gateway-pid", type=int, help="with --target-url: its pid, for memory and CPU figures")
    parser.add_argument("--out", type=Path, help="report folder (default var/bench/<UTC timestamp>)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare FastAPI broadcast baseline")
    parser.add_argument("--workers", type=int, default=2, help="load-generator processes (default 2)")
    parser.add_argument(
        "--history",
        type=int,
        nargs="?",
        const=10_000_000,
        metavar="N",
        help="then run the scenarios again on a chat_db pre-filled with N stored messages (default 10,000,000; "
        "bench/history.py) and report both runs side by side",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="export every component's traces (OTLP) to a counting collector in this process: tracing's cost",
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="flamegraph",
        choices=["flamegraph", "raw", "speedscope"],
        help="py-spy profiles of chat_svc and the gateway during each send window (raw: collapsed stacks)",
    )
    sizes = parser.add_argument_group("sizes (defaults: the full preset, or --quick)")
    for name, kind in (
        ("duration_s", float),
        ("drain_s", float),
        ("latency_rooms", int),
        ("latency_room_size", int),
        ("latency_rate", float),
        ("latency_senders_per_room", int),
        ("throughput_rooms", int),
        ("throughput_room_size", int),
        ("throughput_senders_per_room", int),
        ("throughput_window", int),
        ("fanout_members", int),
        ("fanout_rate", float),
        ("fanout_max_rate", float),
        ("fanout_senders", int),
        ("fanout_step_s", float),
        ("fanout_steps", int),
        ("fanout_max_p99_ms", float),
        ("idle_connections", int),
        ("idle_sockets_per_user", int),
        ("idle_hold_s", float),
        ("heartbeat_s", float),
    ):
        sizes.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, metavar=kind.__name__.upper())
    return parser


def _log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class _Profiler:
    """py-spy flame graphs of the services while a send window is open."""

    def __init__(self, out: Path, form: str) -> None:
        self.out = out
        self.form = form
        self.pids: dict[str, int] = {}
        self.running: list[asyncio.subprocess.Process] = []

    async def __call__(self, scenario: str, seconds: float) -> None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        for name, pid in self.pids.items():
            suffix = {"flamegraph": "svg", "raw": "txt", "speedscope": "json"}[self.form]
            path = self.out / f"profile-{scenario}-{name}.{suffix}"
            command = ["record", "--pid", str(pid), "--duration", str(max(1, int(seconds))), "-o", str(path)]
            command += ["--format", self.form]
            process = await asyncio.create_subprocess_exec(
                spy, *command, "--nonblocking", stdout=asyncio.subprocess.DEVNULL
            )
            self.running.append(process)

    async def wait(self) -> None:
        for process in self.running:
            await asyncio.wait_for(process.wait(), 60)
        self.running.clear()


async def _run_all(
    target: Target, names: list[str], pool: Pool, sizes: Sizes, profiler: _Profiler | None
) -> list[ScenarioResult]:
    results = []
    for name in names:
        _log(f"{target.name}: {name} ...")
        result = await scenarios.run(name, target, pool, sizes, profiler)
        if profiler is not None:
            await profiler.wait()
        a = result.accounting
        shown = {k: round(v, 2) for k, v in result.figures.items() if not k.startswith("rss")}
        counts = f"lost={a.lost} dup={a.duplicates} errors={a.errors}"
        _log(f"{target.name}: {name}: {shown} {counts} ({result.seconds:.1f} s)")
        results.append(result)
    return results


def _database_facts(url: str) -> tuple[str, str]:
    """What the report says of the server, and its pid file (to tell its pid from other servers')."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            version, flush, pid_file = conn.execute(
                text("SELECT @@version, @@innodb_flush_log_at_trx_commit, @@pid_file")
            ).one()
    finally:
        engine.dispose()
    return f"MariaDB/MySQL {version}, innodb_flush_log_at_trx_commit={flush}", str(pid_file or "")


async def _main(args: argparse.Namespace, out: Path, run: dict[str, Any]) -> list[ScenarioResult]:
    from bench import stack as stack_module

    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    sizes = Sizes(**run["sizes"])
    logs = out / "logs"
    clock = time.monotonic()
    pool = Pool(args.workers)
    profiler = _Profiler(out, args.profile) if args.profile else None
    results: list[ScenarioResult] = []
    stack: stack_module.Stack | None = None
    collector = Collector(keep=False).start() if args.trace else None
    try:
        target: Target
        if args.target_url:
            pids = {"edge_gateway": args.gateway_pid} if args.gateway_pid else {}
            target = ParleyRemote("parley", args.target_url.rstrip("/"), pids, args.gateway_pid)
            run["target"] = f"running gateway at {args.target_url}"
        else:
            _log("starting auth_svc, chat_svc and edge_gateway on fresh MySQL databases")
            endpoint = collector.endpoint if collector is not None else None
            stack = (await asyncio.to_thread(stack_module.start, logs, sizes.heartbeat_s, endpoint))[0]
            run["database"], pid_file = _database_facts(stack.chat_db_url)
            target = ParleyStack(stack, database_pid=database_pid(pid_file))
            run["target"] = "stack started by the bench (auth_svc, chat_svc, edge_gateway; one process each)"
            run["tracing"] = "on: OTLP to a counting collector" if collector is not None else "off"
            _log(f"stack up in {time.monotonic() - clock:.1f} s")
        if profiler is not None:
            profiler.pids = {k: v for k, v in target.pids.items() if k not in ("auth_svc", "mariadb")}
        results += await _run_all(target, names, pool, sizes, profiler)
        run["setup"] = target.notes
        await target.close()
        if stack is not None:  # the next stack, and the baseline, get the machine to themselves
            stack.stop()
            stack = None
        if args.history and not args.target_url:
            _log(f"pre-filling a fresh chat_db with {args.history:,} stored messages (bench/history.py)")
            endpoint = collector.endpoint if collector is not None else None
            filled, loaded = await asyncio.to_thread(
                stack_module.start, logs, sizes.heartbeat_s, endpoint, args.history
            )
            stack = filled
            assert loaded is not None
            run["history"] = loaded.__dict__
            _log(f"history loaded in {loaded.seconds:.0f} s ({loaded.index_seconds:.0f} s of it building indexes)")
            target = ParleyStack(filled, "history", database_pid(_database_facts(filled.chat_db_url)[1]))
            results += await _run_all(target, names, pool, sizes, None)
            await target.close()
            filled.stop()
            stack = None
        if collector is not None:  # the components flushed their spans as they stopped
            run["spans_received"] = collector.received
        if not args.no_baseline:
            port = stack_module.free_port()
            env = {"BENCH_BASELINE_PORT": str(port), "BENCH_BASELINE_HEARTBEAT_SECONDS": str(sizes.heartbeat_s)}
            server = await asyncio.to_thread(stack_module.launch, "bench.baseline", env, port, logs)
            try:
                baseline = Baseline(f"http://127.0.0.1:{port}", server.process.pid)
                results += await _run_all(baseline, names, pool, sizes, None)
            finally:
                server.stop()
    finally:
        pool.close()
        if stack is not None:
            stack.stop()
        stack_module.drop_databases()  # a pre-filled chat_db is gigabytes: never left behind
        if collector is not None:
            collector.stop()
    return results


def main() -> None:
    """Parse the command line, run, write the report; exit 2 when anything was lost or failed."""
    parser = _parser()
    args = parser.parse_args()
    if args.history is not None and args.history < 1:
        parser.error("--history needs a positive number of messages")
    if args.history and args.target_url:
        parser.error("--history pre-fills the bench's own stack: it cannot be used with --target-url")
    sizes = scenarios.with_overrides(
        QUICK if args.quick else Sizes(), {k: getattr(args, k) for k in Sizes.__dataclass_fields__}
    )
    started = datetime.now(UTC)
    out: Path = args.out or Path("var/bench") / started.strftime("%Y%m%dT%H%M%SZ")
    (out / "logs").mkdir(parents=True, exist_ok=True)
    run: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "preset": "quick" if args.quick else "full",
        "sizes": sizes.__dict__,
        "machine": report.machine(),
        "load_average_at_start": list(os.getloadavg()),  # other work on the machine skews every figure
        "open_files_limit": raise_nofile(),
        "workers": args.workers,
    }
    clock = time.monotonic()
    results = asyncio.run(_main(args, out, run))
    run["seconds"] = round(time.monotonic() - clock, 1)
    report.write(out, run, results, full=not args.quick)
    _log(f"done in {run['seconds']} s: {out / 'report.md'}")
    print((out / "report.md").read_text())
    sys.exit(0 if all(r.clean for r in results) else 2)
