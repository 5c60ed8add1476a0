"""Prometheus metrics: each component serves prometheus-client's registry on a port of its own.

The metrics port is never the public one (the gateway's 8000 goes through the Ingress; its
metrics do not), so that scrapes need no credentials and the internet cannot read them.
prometheus-client's default registry already holds the process metrics (CPU seconds, resident
memory, open file descriptors) of the process that serves it.
"""

from __future__ import annotations

import logging

import prometheus_client

log = logging.getLogger(__name__)

# Buckets shared by the components' histograms. Chat's calls and deliveries take a millisecond or
# two; a slow database, a retried call or a loaded mesh seconds.
SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Messages one catch-up replays (CHAT_REPLAY_MAX_MESSAGES is 500 by default).
REPLAY_BUCKETS = (0, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)


def serve_metrics(host: str, port: int | None) -> int | None:
    """Serve /metrics on host:port from a thread (port 0 picks a free one); the port, or None when off."""
    if port is None:
        return None
    server, _thread = prometheus_client.start_http_server(port, addr=host)
    bound: int = server.server_port
    log.info("metrics on http://%s:%d/metrics", host, bound)
    return bound
