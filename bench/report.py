"""report.json, report.md (a short table with targets and ratios to the baseline) and the PNG plots."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import orjson

from bench.results import ScenarioResult

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt


@dataclass(frozen=True)
class Headline:
    """One row of the table: a figure of a scenario, its target, and which way is better."""

    scenario: str
    label: str
    key: str
    target: float | None
    higher_is_better: bool


HEADLINES = (
    Headline("latency", "end-to-end latency p50 (ms)", "latency_p50_ms", 10.0, False),
    Headline("latency", "end-to-end latency p99 (ms)", "latency_p99_ms", 50.0, False),
    Headline("latency", "end-to-end latency max (ms)", "latency_max_ms", None, False),
    Headline("latency", "acked messages/s (offered rate)", "acked_per_s", None, True),
    Headline("throughput", "durable messages/s, each to every member", "acked_per_s", 5000.0, True),
    Headline(
        "fanout", "frames/s delivered by one gateway, at the highest rate it sustained", "frames_per_s", 100_000.0, True
    ),
    Headline("fanout", "messages/s sustained into the room (bench/ramp.py)", "sustained_per_s", None, True),
    Headline("fanout", "fan-out latency p99 (ms)", "latency_p99_ms", None, False),
    Headline("idle", "idle connections held", "connections_held", 10_000.0, True),
    Headline("idle", "gateway memory per connection (KiB)", "kib_per_connection", 30.0, False),
)


@dataclass(frozen=True)
class Flat:
    """A figure compared between the empty chat_db and the pre-filled one (issue 19), with its allowed ratio."""

    scenario: str
    label: str
    key: str
    limit: float | None  # history / empty at most this (at least 1/limit when higher is better)
    higher_is_better: bool = False


FLAT = (
    Flat("latency", "end-to-end latency p50 (ms)", "latency_p50_ms", None),
    Flat("latency", "end-to-end latency p99 (ms)", "latency_p99_ms", 1.2),
    Flat("latency", "send ack p99 (ms)", "ack_p99_ms", None),
    Flat("latency", "MariaDB CPU s per 1,000 messages", "mariadb_cpu_s_per_1k_msgs", 1.3),
    Flat("latency", "rows MariaDB read per 1,000 messages", "db_rows_read_per_1k_msgs", None),
    Flat("latency", "pages read from disk per 1,000 messages", "db_disk_reads_per_1k_msgs", None),
    Flat("throughput", "durable messages/s", "acked_per_s", 1.2, True),
    Flat("throughput", "end-to-end latency p99 (ms)", "latency_p99_ms", None),
    Flat("throughput", "MariaDB CPU s per 1,000 messages", "mariadb_cpu_s_per_1k_msgs", 1.3),
    Flat("throughput", "rows MariaDB read per 1,000 messages", "db_rows_read_per_1k_msgs", None),
    Flat("throughput", "pages read from disk per 1,000 messages", "db_disk_reads_per_1k_msgs", None),
    Flat("latency", "connect time of every socket (s)", "connect_s", None),
    Flat("latency", "other work on the machine in the send window (% of a core)", "other_cpu_percent", None),
    Flat("throughput", "other work on the machine in the send window (% of a core)", "other_cpu_percent", None),
    Flat("fanout", "frames/s delivered", "frames_per_s", None, True),
)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    os_name = ""
    release = Path("/etc/os-release")
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kib / 2**20, 1),
        "os": os_name,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def write(out: Path, run: dict[str, Any], results: list[ScenarioResult], full: bool) -> None:
    """Write every report file into out."""
    out.mkdir(parents=True, exist_ok=True)
    rows = _rows(results, full)
    document = {"run": run, "headlines": rows, "results": [r.to_json() for r in results]}
    (out / "report.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    plots = [_latency_plot(out, results), _timeline_plot(out, results)]
    (out / "report.md").write_text(_markdown(run, rows, results, [p for p in plots if p]))


def _find(results: list[ScenarioResult], scenario: str, target: str) -> ScenarioResult | None:
    return next((r for r in results if r.scenario == scenario and r.target == target), None)


def _rows(results: list[ScenarioResult], full: bool) -> list[dict[str, Any]]:
    rows = []
    for h in HEADLINES:
        ours, base = _find(results, h.scenario, "parley"), _find(results, h.scenario, "baseline")
        if ours is None and base is None:
            continue
        value = ours.figures.get(h.key) if ours else None
        base_value = base.figures.get(h.key) if base else None
        met: bool | None = None
        if full and h.target is not None and value is not None:
            met = value >= h.target if h.higher_is_better else value <= h.target
        rows.append(
            {
                "scenario": h.scenario,
                "figure": h.label,
                "parley": value,
                "baseline": base_value,
                "ratio": value / base_value if value is not None and base_value else None,
                "target": h.target,
                "target_met": met,
            }
        )
    return rows


def _steps_table(results: list[ScenarioResult]) -> list[str]:
    """The fan-out search's steps (bench/ramp.py): each rate offered and whether it was sustained."""
    searched = [r for r in results if r.params.get("steps")]
    if not searched:
        return []
    lines = ["", "| fan-out step | target | msg/s offered | frames/s | latency p99 (ms) | sustained |"]
    lines.append("| ---: | --- | ---: | ---: | ---: | --- |")
    for res in searched:
        for index, step in enumerate(res.params["steps"], 1):
            verdict = "yes" if step["sustained"] else f"no: {step['shortfall']}"
            lines.append(
                f"| {index} | {res.target} | {step['offered_per_s']:g} | {step['frames_per_s']:,} | "
                f"{step['latency_p99_ms']:,.0f} | {verdict} |"
            )
    return lines


_PER_1K = "cpu_ms_per_1k_delivered_"


def _cost_table(results: list[ScenarioResult]) -> list[str]:
    """CPU ms per 1,000 delivered messages per component and the delivery lag, from the services' metrics."""
    measured = [r for r in results if any(k.startswith(_PER_1K) for k in r.figures)]
    if not measured:
        return []
    components = sorted({k.removeprefix(_PER_1K) for r in measured for k in r.figures if k.startswith(_PER_1K)})
    lines = [
        "",
        "What the mesh costs: CPU milliseconds per 1,000 delivered messages, per component (each one's "
        "process_cpu_seconds_total from its /metrics, from the send window's start to the end of delivery), "
        "and the delivery lag inside the mesh (message stored -> frame written, parley_gateway_delivery_lag_seconds).",
        "",
        "| scenario | messages delivered | "
        + " | ".join(f"{c} CPU ms / 1,000" for c in components)
        + " | delivery lag p50 (ms) | delivery lag p99 (ms) |",
        "| --- | ---: | " + "---: | " * len(components) + "---: | ---: |",
    ]
    for res in measured:
        f = res.figures
        cells = [_fmt(f.get(f"{_PER_1K}{c}")) for c in components]
        lag = [_fmt(f.get("delivery_lag_p50_ms")), _fmt(f.get("delivery_lag_p99_ms"))]
        lines.append(f"| {res.scenario} | {sum(res.delivered):,} | " + " | ".join(cells + lag) + " |")
    return lines


def _history_table(run: dict[str, Any], results: list[ScenarioResult]) -> list[str]:
    """Each figure on the empty chat_db beside the same on the pre-filled one (--history), with the ratio."""
    loaded = run.get("history")
    if not loaded:
        return []
    lines = [
        "",
        f"With history: chat_db pre-filled with {loaded['messages']:,} messages in {loaded['rooms']:,} rooms "
        f"({loaded['members']:,} memberships, {loaded['mentions']:,} mentions, users 1..{loaded['users']:,}) "
        f"in {loaded['seconds']:.0f} s, {loaded['index_seconds']:.0f} s of it building indexes (bench/history.py).",
        "",
        "| scenario | figure | empty | with history | ratio | allowed | met |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for f in FLAT:
        empty, full = _find(results, f.scenario, "parley"), _find(results, f.scenario, "history")
        if empty is None or full is None or f.key not in empty.figures or f.key not in full.figures:
            continue
        a, b = empty.figures[f.key], full.figures[f.key]
        ratio = (a / b if f.higher_is_better else b / a) if a and b else None
        met = "-" if f.limit is None or ratio is None else "yes" if ratio <= f.limit else "**no**"
        lines.append(f"| {f.scenario} | {f.label} | {_fmt(a)} | {_fmt(b)} | {_fmt(ratio)} | {_fmt(f.limit)} | {met} |")
    lines += ["", "(ratio: how many times worse with history; for a rate, empty / with history.)"]
    return lines


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def _markdown(run: dict[str, Any], rows: list[dict[str, Any]], results: list[ScenarioResult], plots: list[str]) -> str:
    m = run["machine"]
    lines = [
        f"# Benchmark {run['started']} ({run['preset']} preset)",
        "",
        f"{m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, {m['os']}, Python {m['python']}; "
        f"{run.get('database', 'database: n/a')}. Target: {run['target']}.",
        f"Tracing: {run.get('tracing', 'off')}"
        + (f", {run['spans_received']:,} spans received." if "spans_received" in run else "."),
        "",
        "| scenario | figure | parley | baseline | ratio | target | met |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        met = {True: "yes", False: "**no**", None: "-"}[r["target_met"]]
        lines.append(
            f"| {r['scenario']} | {r['figure']} | {_fmt(r['parley'])} | {_fmt(r['baseline'])} | "
            f"{_fmt(r['ratio'])} | {_fmt(r['target'])} | {met} |"
        )
    lines += [
        "",
        "| scenario | target | sockets | lost | duplicated | errors | unacked | reconnects | db checked | seconds |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for res in results:
        a = res.accounting
        lines.append(
            f"| {res.scenario} | {res.target} | {a.sockets} | {a.lost} | {a.duplicates} | "
            f"{a.errors + a.connect_failures} | {a.unacked} | {a.reconnects} | {'yes' if a.db_checked else 'no'} | "
            f"{res.seconds:.1f} |"
        )
    lines += _history_table(run, results)
    lines += _steps_table(results)
    lines += _cost_table(results)
    samples = [f"- {res.scenario}/{res.target}: {e}" for res in results for e in res.accounting.error_samples[:3]]
    if samples:
        lines += ["", "First errors:", "", *samples]
    lines += ["", *(f"![{name}]({name})" for name in plots), ""]
    return "\n".join(lines)


def _latency_plot(out: Path, results: list[ScenarioResult]) -> str | None:
    """Histogram and CDF of end-to-end latency, per scenario and target."""
    measured = [r for r in results if len(r.latencies_us)]
    if not measured:
        return None
    fig, (hist, cdf) = plt.subplots(1, 2, figsize=(12, 4.5))
    for res in measured:
        ms = res.latencies_us / 1000
        label = f"{res.scenario} / {res.target}"
        bins = np.logspace(np.log10(max(ms.min(), 0.05)), np.log10(ms.max() + 0.1), 60)
        hist.hist(ms, bins=bins, histtype="step", label=label, density=True)
        cdf.plot(ms, np.arange(1, len(ms) + 1) / len(ms), label=label)
    for ax in (hist, cdf):
        ax.set_xscale("log")
        ax.set_xlabel("sender's frame -> recipient's frame (ms)")
        ax.grid(True, which="both", alpha=0.3)
    hist.set_title("latency distribution")
    hist.set_ylabel("density")
    cdf.set_title("latency CDF")
    cdf.set_ylabel("fraction of deliveries")
    cdf.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=100)
    plt.close(fig)
    return "latency.png"


def _timeline_plot(out: Path, results: list[ScenarioResult]) -> str | None:
    """Message frames delivered and sends acked per second over time, one panel per scenario."""
    scenarios = [s for s in dict.fromkeys(r.scenario for r in results) if s != "idle"]
    if not scenarios:
        return None
    fig, axes = plt.subplots(len(scenarios), 1, figsize=(10, 3 * len(scenarios)), squeeze=False)
    for ax, scenario in zip(axes[:, 0], scenarios, strict=True):
        for res in (r for r in results if r.scenario == scenario):
            per_s = 1000 / res.bucket_ms
            t = np.arange(len(res.delivered)) * res.bucket_ms / 1000
            ax.plot(t, np.array(res.delivered) * per_s, label=f"{res.target}: frames delivered/s")
            t = np.arange(len(res.acked)) * res.bucket_ms / 1000
            ax.plot(t, np.array(res.acked) * per_s, linestyle="--", label=f"{res.target}: messages acked/s")
        ax.set_title(f"{scenario}: throughput over time ({results[0].bucket_ms} ms buckets)")
        ax.set_xlabel("seconds since the send window opened")
        ax.set_ylabel("per second")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=100)
    plt.close(fig)
    return "throughput.png"
