"""Every component serves Prometheus metrics on a port of its own, never on the public one."""

from __future__ import annotations

import httpx
import pytest

from edge_gateway.tests.conftest import GatewayStack
from tests.support.stack import AUTH, CHAT, GATEWAY

pytestmark = pytest.mark.mysql


@pytest.mark.parametrize("component", [AUTH, CHAT, GATEWAY])
def test_each_component_serves_its_process_metrics(stack: GatewayStack, component: str) -> None:
    """/metrics on the component's metrics port answers in Prometheus' text format, process CPU included."""
    response = httpx.get(stack.processes[component][0].metrics_url, timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "\nprocess_cpu_seconds_total " in response.text


def test_the_public_port_has_no_metrics(stack: GatewayStack) -> None:
    """The gateway's public port (behind the Ingress) does not serve /metrics."""
    assert httpx.get(f"{stack.gateway_url}/metrics", timeout=5).status_code == 404
