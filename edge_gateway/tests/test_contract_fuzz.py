"""Schemathesis over the gateway's served OpenAPI document, against the real stack.

One `schemathesis run` (the CLI, as a developer would run it) with every default check, among them
not_a_server_error, response_schema_conformance and positive_data_acceptance: a schema-valid request
the server rejects, a response the document does not describe, or any 5xx is a failure. It signs in as
a registered user, and fuzz_hooks.py points half the path parameters at a room, a message and a user
that exist. Bounded and repeatable: a fixed number of examples per operation, a deadline per request,
deterministic generation (no random seed, no example database).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from edge_gateway.tests.conftest import GatewayStack

HOOKS = Path(__file__).with_name("fuzz_hooks.py")
MAX_EXAMPLES = 10  # per operation and phase: about 1,100 cases, most of them the coverage phase's edges
REQUEST_TIMEOUT_S = 10
RUN_TIMEOUT_S = 240  # the whole run, a safety net far above its usual time


async def _fuzz_objects(stack: GatewayStack) -> dict[str, str]:
    """Register the fuzz user and a peer, with a room and a message: the env fuzz_hooks.py reads."""
    user, token = await asyncio.to_thread(stack.register, "fuzz")
    peer, peer_token = await asyncio.to_thread(stack.register, "fuzzpeer")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=10) as client:
        room = await client.post("/rooms", json={"kind": "private", "name": "fuzz", "member_ids": [peer["id"]]})
        assert room.status_code == 201, room.text
        peer_headers = {"Authorization": f"Bearer {peer_token}"}
        accepted = await client.post(f"/invitations/{room.json()['id']}/accept", headers=peer_headers)
        assert accepted.status_code == 200, accepted.text
        sent = await client.post(
            f"/rooms/{room.json()['id']}/messages", json={"client_msg_id": "fuzz-1", "body": "hello"}
        )
        assert sent.status_code == 201, sent.text
    return {
        "PARLEY_FUZZ_TOKEN": token,
        "PARLEY_FUZZ_USER_ID": str(user["id"]),
        "PARLEY_FUZZ_OTHER_ID": str(peer["id"]),
        "PARLEY_FUZZ_OTHER_NAME": peer["username"],
        "PARLEY_FUZZ_ROOM_ID": str(room.json()["id"]),
        "PARLEY_FUZZ_SEQ": str(sent.json()["message"]["seq"]),
    }


async def _schemathesis(stack: GatewayStack, env: dict[str, str], events: Path) -> tuple[int, str]:
    """Run `schemathesis run` over the served document; (exit code, its report). Its events go to `events`."""
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "run", f"{stack.api_url}/openapi.json"),
        *("--header", f"Authorization: Bearer {env['PARLEY_FUZZ_TOKEN']}"),
        *("--max-examples", str(MAX_EXAMPLES), "--generation-deterministic", "--workers", "1"),
        *("--request-timeout", str(REQUEST_TIMEOUT_S), "--no-color", "--warnings", "off"),
        *("--report", "ndjson", "--report-ndjson-path", str(events)),
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        env={**os.environ, **env, "SCHEMATHESIS_HOOKS": str(HOOKS)},
        cwd=events.parent,  # its crash cache (.schemathesis/) stays with this run, so no run replays another's
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return process.returncode or 0, output.decode()


def _statistics(events: Path) -> dict[str, Counter[str]]:
    """What the run checked, read from its event stream: cases by phase and mode, answers, check verdicts."""
    stats: dict[str, Counter[str]] = {"cases": Counter(), "statuses": Counter()}
    for line in events.read_text().splitlines() if events.exists() else []:
        finished = json.loads(line).get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished["recorder"]
        for node in recorder.get("cases", {}).values():
            meta = node["value"].get("meta") or {}
            mode = meta.get("generation", {}).get("mode", "explicit")
            stats["cases"][f"{finished['phase']} {mode}"] += 1
        for interaction in recorder.get("interactions", {}).values():
            stats["statuses"][str(interaction["response"]["status_code"])] += 1
        for checks in recorder.get("checks", {}).values():
            for check in checks:
                stats.setdefault(check["name"], Counter())[check["status"]] += 1
    return stats


def _summary(report: str, stats: dict[str, Counter[str]], seconds: float) -> str:
    """Schemathesis' own summary, then the cases per phase and mode, the answers, and each check's verdicts."""
    summary = report[report.rfind("SUMMARY") :] if "SUMMARY" in report else report[-3000:]
    lines = [f"{name}: {dict(sorted(counts.items()))}" for name, counts in stats.items()]
    return f"\n--- schemathesis over /api/v1/openapi.json ({seconds:.0f} s) ---\n{summary.strip()}\n" + "\n".join(lines)


def _service_errors(stack: GatewayStack, since: list[int]) -> list[str]:
    """Log lines of the services since `since` (line counts) that are errors or tracebacks."""
    return [line for process, start in zip(stack.running(), since, strict=True) for line in process.errors_since(start)]


@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
async def test_schemathesis_finds_no_failure(
    stack: GatewayStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A schemathesis run over /api/v1/openapi.json fails none of its checks and logs no error or traceback."""
    env = await _fuzz_objects(stack)
    since = [len(process.lines) for process in stack.running()]
    events = tmp_path / "schemathesis-events.ndjson"
    started = time.monotonic()
    code, report = await _schemathesis(stack, env, events)
    stats = _statistics(events)
    with capsys.disabled():
        print(_summary(report, stats, time.monotonic() - started))
    assert code == 0, report
    assert stats["positive_data_acceptance"]["success"] > 0, "schemathesis checked no response"
    assert _service_errors(stack, since) == []
