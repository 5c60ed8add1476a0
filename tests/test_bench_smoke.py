"""`python -m bench --quick` (what scripts/bench --quick runs) works end to end: a smoke test, no speed asserted.

It starts its own stack on fresh parley_bench_* databases, runs every scenario against it and against
the baseline server, and must account for every message: nothing lost, duplicated or failed; the
report gives each component's CPU milliseconds per 1,000 delivered messages, read from its /metrics.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.mysql
@pytest.mark.timeout(240)
def test_quick_bench_runs_every_scenario_with_nothing_lost(tmp_path: Path) -> None:
    """The quick bench runs every scenario on both targets, accounts for every message and writes its report."""
    out = tmp_path / "bench"
    process = subprocess.Popen(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=200)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)  # lets the bench stop its services and drop its databases
        stdout, stderr = process.communicate(timeout=30)
        pytest.fail(f"scripts/bench --quick took over 200 s\n{stderr[-5000:]}")
    assert process.returncode == 0, f"exit {process.returncode}\n{stdout[-3000:]}\n{stderr[-5000:]}"
    for name in ("report.json", "report.md", "latency.png", "throughput.png"):
        assert (out / name).stat().st_size > 0, name
    report = json.loads((out / "report.json").read_text())
    ran = {(r["scenario"], r["target"]) for r in report["results"]}
    assert ran == {(s, t) for s in SCENARIOS for t in ("parley", "baseline")}
    for result in report["results"]:
        counts = result["accounting"]
        where = f"{result['scenario']}/{result['target']}: {counts}"
        assert counts["sockets"] > 0, where
        assert counts["lost"] == counts["duplicates"] == counts["errors"] == 0, where
        assert counts["unacked"] == counts["connect_failures"] == 0, where
        if result["target"] == "parley" and result["scenario"] != "idle":
            assert counts["db_checked"], where  # compared with the messages table in chat_db
            assert result["figures"]["messages_acked"] > 0, where
            for component in ("auth_svc", "chat_svc", "edge_gateway"):  # from each one's /metrics
                assert f"cpu_ms_per_1k_delivered_{component}" in result["figures"], where
            assert result["figures"]["cpu_ms_per_1k_delivered_edge_gateway"] > 0, where
    markdown = (out / "report.md").read_text()
    assert "| scenario | figure | parley | baseline | ratio | target | met |" in markdown
    assert "| edge_gateway CPU ms / 1,000 |" in markdown
