"""deploy/observability and a real Prometheus (Debian's package) scraping a real stack.

promtool checks the alert rules (and runs their unit tests, alerts.test.yml) and both Prometheus
configurations (compose's, and the one scripts/run --observe writes); the dashboard is valid JSON
whose panels have unique ids and whose queries parse and name only the metric families of issue
15's contract (docs/observability.md). Then a Prometheus configured as --observe configures it
scrapes auth_svc, chat_svc and the gateway on MySQL, and after a few sends over the WebSocket its
HTTP API finds every component up, their process metrics, the messages stored and the deliveries.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets
import yaml
from prometheus_client.parser import text_string_to_metric_families

from scripts.supervise import JOBS, Component, banner, plan, prometheus, prometheus_config
from tests.support import IN_CI, mysql
from tests.support.processes import ROOT, free_port
from tests.support.stack import Stack

OBSERVABILITY = ROOT / "deploy" / "observability"
DASHBOARD = OBSERVABILITY / "grafana" / "parley.json"
PROMETHEUS = Path(os.environ.get("PARLEY_PROMETHEUS", "/usr/bin/prometheus"))
PROMTOOL = PROMETHEUS.with_name("promtool")

needs_prometheus = pytest.mark.skipif(
    not (PROMETHEUS.exists() and PROMTOOL.exists()) and not IN_CI,
    reason=f"{PROMETHEUS} / {PROMTOOL} missing: apt-get install prometheus (scripts/test does)",
)

# The metric families the components serve (the contract of issue 15; docs/observability.md).
COUNTERS = {
    "parley_grpc_server_handled_total",
    "parley_grpc_client_handled_total",
    "parley_chat_messages_stored_total",
    "parley_chat_gap_fills_total",
    "parley_gateway_frames_in_total",
    "parley_gateway_frames_out_total",
    "parley_gateway_bytes_written_total",
    "parley_gateway_socket_closes_total",
    "parley_gateway_resumes_total",
    "parley_gateway_http_requests_total",
    "parley_auth_sign_ins_total",
    "parley_auth_refreshes_total",
    "parley_auth_refresh_reuse_total",
}
GAUGES = {
    "parley_grpc_server_in_flight",
    "parley_chat_stream_subscribers",
    "parley_chat_stream_queue_depth",
    "parley_gateway_sockets",
    "parley_gateway_users",
}
HISTOGRAMS = {
    "parley_grpc_server_handling_seconds",
    "parley_grpc_client_handling_seconds",
    "parley_chat_send_batch_size",
    "parley_chat_commit_seconds",
    "parley_chat_broker_publish_seconds",
    "parley_chat_broker_consume_lag_seconds",
    "parley_chat_replay_messages",
    "parley_gateway_replay_messages",
    "parley_gateway_delivery_lag_seconds",
    "parley_gateway_http_request_seconds",
}
SERIES = COUNTERS | GAUGES | {f"{h}{suffix}" for h in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")}
# Grafana's variables as Prometheus would see them once Grafana has put in their values.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$instance": ".*", "${datasource}": "prometheus"}
_SELECTOR = re.compile(r"([a-zA-Z_:][\w:]*)\{([^}]*)\}")
_KEYWORDS = {"and", "or", "unless", "bool", "offset"}


def promtool(*args: str, cwd: Path = OBSERVABILITY) -> subprocess.CompletedProcess[str]:
    """Run promtool; its output on failure."""
    return subprocess.run([str(PROMTOOL), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def dashboard() -> dict[str, Any]:
    """deploy/observability/grafana/parley.json."""
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def queries() -> list[tuple[str, str]]:
    """(panel title, PromQL with Grafana's variables filled in) of every panel's target."""
    found = []
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            found.append((panel["title"], expr))
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects, with braces (name{...}) or bare."""
    rest = _SELECTOR.sub(" ", expr)
    rest = re.sub(r'"[^"]*"', " ", rest)
    rest = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", rest)
    rest = re.sub(r"[a-zA-Z_]\w*\s*\(", "(", rest)  # function calls
    rest = re.sub(r"\[[^\]]*\]", " ", rest)  # ranges
    bare = set(re.findall(r"[a-zA-Z_:][\w:]*", rest)) - _KEYWORDS
    return bare | {name for name, _ in _SELECTOR.findall(expr)}


# ---- files, offline ---------------------------------------------------------------------------


@needs_prometheus
def test_promtool_accepts_the_alert_rules() -> None:
    """The alert rules pass `promtool check rules`: every expression parses, every alert is well formed."""
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@needs_prometheus
def test_alerts_fire_on_the_series_they_watch() -> None:
    """Under `promtool test rules` replica down, slow-consumer closes, delivery lag and gRPC errors fire as written."""
    result = promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@needs_prometheus
def test_promtool_accepts_the_compose_prometheus_config() -> None:
    """Compose's Prometheus configuration (and the rules it loads) passes `promtool check config`."""
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@needs_prometheus
def test_promtool_accepts_the_observe_config(tmp_path: Path) -> None:
    """The configuration scripts/run --observe writes for three replicas passes promtool check config."""
    components = [
        Component(f"{kind}-{i}", kind, [], 1000 + i, metrics_port=9100 + 10 * i + n)
        for n, kind in enumerate(JOBS)
        for i in range(3)
    ]
    config = prometheus_config(components, OBSERVABILITY / "alerts.yml")
    (tmp_path / "prometheus.yml").write_bytes(orjson.dumps(config))
    result = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = {job["job_name"]: len(job["static_configs"]) for job in config["scrape_configs"]}
    assert jobs == {"auth-svc": 3, "chat-svc": 3, "edge-gateway": 3}


def test_observe_banner_names_prometheus_and_every_metrics_url(tmp_path: Path) -> None:
    """With --observe and 2 replicas the banner gives Prometheus' URL and each process's /metrics, as planned."""
    env = {"CHAT_METRICS_PORT": "9102", "GATEWAY_METRICS_PORT": "9103", "PARLEY_PROMETHEUS_PORT": "9190"}
    components = plan(2, env, webapp=False)
    components.append(prometheus(components, env, tmp_path))
    text = banner(components, 2, env)
    assert "Prometheus http://127.0.0.1:9190" in text
    for name, port in (("auth_svc", 9101), ("chat_svc-0", 9102), ("chat_svc-1", 9112), ("edge_gateway-1", 9113)):
        assert f"{name} http://127.0.0.1:{port}/metrics" in text
    config = orjson.loads((tmp_path / "prometheus.yml").read_bytes())
    targets = {t for job in config["scrape_configs"] for group in job["static_configs"] for t in group["targets"]}
    assert targets == {f"127.0.0.1:{port}" for port in (9101, 9102, 9112, 9103, 9113)}


def test_dashboard_panels_have_unique_ids_and_queries() -> None:
    """The dashboard is JSON with a uid, unique panel ids, and a query with a unique refId in every graph."""
    board = dashboard()
    assert board["uid"] == "parley-overview" and board["schemaVersion"] >= 36
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        if panel["type"] != "row":
            assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]
            assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"]), panel["title"]


def test_dashboard_layout_fits_grafana_grid_and_names_its_variables() -> None:
    """Panels fit Grafana's 24-column grid without overlapping; every data source and variable used is defined."""
    board = dashboard()
    cells: dict[tuple[int, int], str] = {}
    for panel in board["panels"]:
        box = panel["gridPos"]
        assert box["x"] >= 0 and box["w"] > 0 and box["x"] + box["w"] <= 24, panel["title"]
        for x in range(box["x"], box["x"] + box["w"]):
            for y in range(box["y"], box["y"] + box["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    used = set(re.findall(r"\$\{?(\w+)", DASHBOARD.read_text())) - {"__rate_interval", "__all"}
    assert used <= set(variables), f"undefined variables: {used - set(variables)}"


def test_dashboard_and_alerts_name_only_served_metrics() -> None:
    """Every query of the dashboard and the alerts selects metrics of the contract, process_* or up."""
    groups = yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text())["groups"]
    alerts = [rule["expr"] for group in groups for rule in group["rules"]]
    for where, expr in [*queries(), *(("alerts.yml", a) for a in alerts)]:
        names = metric_names(expr)
        assert names, f"{where}: no metric in {expr}"
        unknown = {n for n in names if n not in SERIES and not n.startswith("process_") and n != "up"}
        assert not unknown, f"{where}: {sorted(unknown)} are not served"


def test_dashboard_queries_filter_by_replica() -> None:
    """Every selector of the dashboard honours the replica picker ($instance)."""
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            selectors = _SELECTOR.findall(target["expr"])
            assert metric_names(target["expr"]) == {name for name, _ in selectors}, f"{panel['title']}: a bare name"
            for name, matchers in selectors:
                assert 'instance=~"$instance"' in matchers, f"{panel['title']}: {name}{{{matchers}}}"


@needs_prometheus
def test_dashboard_queries_parse(tmp_path: Path) -> None:
    """Every dashboard query parses in promtool (each as a recording rule), Grafana's variables filled in."""
    rules = [{"record": f"dashboard:query_{i}", "expr": expr} for i, (_, expr) in enumerate(queries())]
    (tmp_path / "dashboard.rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = promtool("check", "rules", "dashboard.rules.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_provisioning_points_at_the_dashboard() -> None:
    """Compose's Grafana loads the dashboard from the folder its provider names, with Prometheus as data source."""
    provisioning = OBSERVABILITY / "grafana" / "provisioning"
    (source,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert (source["type"], source["url"], source["isDefault"]) == ("prometheus", "http://prometheus:9090", True)
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "parley.yml").read_text())["providers"]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


# ---- a real Prometheus scraping a real stack --------------------------------------------------


class Prometheus:
    """A Prometheus process and its HTTP API."""

    def __init__(self, config: dict[str, Any], folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "prometheus.yml").write_bytes(orjson.dumps(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            str(PROMETHEUS),
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        self.log = (folder / "prometheus.log").open("wb")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not self._ready():
            assert self.process.poll() is None, (folder / "prometheus.log").read_text()
            assert time.monotonic() < deadline, "Prometheus did not get ready in 30 s"
            time.sleep(0.1)

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector expr evaluates to (status success asserted)."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def value(self, expr: str) -> float | None:
        """The single value of expr, None when it has none."""
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def eventually(self, expr: str, expected: float, within_s: float = 15.0) -> float | None:
        """The value of expr once it equals expected (scrapes are 1 s apart), or its last value after within_s."""
        deadline = time.monotonic() + within_s
        while (value := self.value(expr)) != expected and time.monotonic() < deadline:
            time.sleep(0.25)
        return value

    def stop(self) -> None:
        """Stop the process."""
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Prometheus]]:
    """auth_svc, chat_svc and the gateway on MySQL, and a Prometheus scraping them every second."""
    if not PROMETHEUS.exists() and not IN_CI:
        pytest.skip(f"{PROMETHEUS} is missing: apt-get install prometheus (scripts/test does)")
    if mysql.unavailable_reason():
        pytest.skip(mysql.unavailable_reason() or "")
    stack = Stack(tmp_path_factory.mktemp("obs-stack"))
    server: Prometheus | None = None
    try:
        stack.create_databases("parley_test_obs").up()
        components = [
            Component(f"{kind}-{i}", kind, [], process.port, metrics_port=process.metrics_port)
            for kind, processes in stack.processes.items()
            for i, process in enumerate(processes)
        ]
        config = prometheus_config(components, OBSERVABILITY / "alerts.yml", interval_s=1)
        server = Prometheus(config, tmp_path_factory.mktemp("prometheus"))
        yield stack, server
    finally:
        if server is not None:
            server.stop()
        stack.stop()


def _scraped(url: str, series: str) -> float:
    """The sum of one series name's samples (a counter's _total, a histogram's _count) at a /metrics URL, 0 if none."""
    families = text_string_to_metric_families(httpx.get(url, timeout=5).text)
    return sum(sample.value for family in families for sample in family.samples if sample.name == series)


async def _chat(stack: Stack, sends: int) -> int:
    """Two users in a private room; one sends `sends` messages over the WebSocket; the message frames delivered."""
    (_, alice_token), (bob, bob_token) = stack.register("alice"), stack.register("bob")
    room = stack.private_room("observed", alice_token, bob, bob_token)
    sockets = [await websockets.connect(stack.ws_url) for _ in range(2)]
    try:
        for ws, token in zip(sockets, (alice_token, bob_token), strict=True):
            await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
            while orjson.loads(await asyncio.wait_for(ws.recv(), 10))["type"] != "caught_up":
                pass
        for n in range(sends):
            frame = {"type": "send", "ref": f"s{n}", "room_id": room, "client_msg_id": f"obs-{n}", "body": f"hi {n}"}
            await sockets[0].send(orjson.dumps(frame).decode())
        delivered = 0
        for ws in sockets:  # every message frame either socket gets within a quiet second
            try:
                while True:
                    frame = orjson.loads(await asyncio.wait_for(ws.recv(), 1.0))
                    delivered += frame["type"] == "message"
            except TimeoutError:
                pass
        return delivered
    finally:
        for ws in sockets:
            await ws.close()


SENDS = 5


@pytest.fixture(scope="module")
def chatted(observed: tuple[Stack, Prometheus]) -> dict[str, float]:
    """SENDS messages sent over the WebSocket; what chat_svc and the gateway counted before, and the deliveries."""
    stack, _ = observed
    before = {
        "stored": _scraped(stack.chat.metrics_url, "parley_chat_messages_stored_total"),
        "lag_count": _scraped(stack.gateway.metrics_url, "parley_gateway_delivery_lag_seconds_count"),
    }
    delivered = asyncio.run(_chat(stack, SENDS))
    assert delivered >= SENDS, f"bob's socket got {delivered} of {SENDS} messages"
    return {**before, "delivered": float(delivered)}


@pytest.mark.mysql
@needs_prometheus
def test_prometheus_scrapes_every_component_up(observed: tuple[Stack, Prometheus], chatted: dict[str, float]) -> None:
    """Through Prometheus' API: up == 1 for auth_svc, chat_svc and the gateway, each with its process CPU."""
    _, prometheus = observed
    expected = set(JOBS.values())
    assert prometheus.eventually("count(up == 1)", len(expected)) == len(expected), prometheus.query("up")
    assert {r["metric"]["job"] for r in prometheus.query("up == 1")} == expected
    cpu = prometheus.query("process_cpu_seconds_total")
    assert {r["metric"]["job"] for r in cpu} == expected
    assert all(float(r["value"][1]) > 0 for r in cpu)


@pytest.mark.mysql
@needs_prometheus
def test_dashboard_queries_run_on_prometheus(observed: tuple[Stack, Prometheus], chatted: dict[str, float]) -> None:
    """Every dashboard query evaluates on the real Prometheus without an error."""
    _, prometheus = observed
    for _, expr in queries():
        prometheus.query(expr)


@pytest.mark.mysql
@needs_prometheus
def test_prometheus_counts_the_messages_stored(observed: tuple[Stack, Prometheus], chatted: dict[str, float]) -> None:
    """sum(parley_chat_messages_stored_total) went up by exactly the sends made over the WebSocket."""
    _, prometheus = observed
    expected = chatted["stored"] + SENDS
    assert prometheus.eventually("sum(parley_chat_messages_stored_total)", expected) == expected


@pytest.mark.mysql
@needs_prometheus
def test_prometheus_counts_the_deliveries(observed: tuple[Stack, Prometheus], chatted: dict[str, float]) -> None:
    """The delivery-lag histogram's count went up by exactly the message frames the sockets got."""
    _, prometheus = observed
    expected = chatted["lag_count"] + chatted["delivered"]
    assert prometheus.eventually("sum(parley_gateway_delivery_lag_seconds_count)", expected) == expected
