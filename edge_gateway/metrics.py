"""The gateway's metrics (docs/observability.md lists them): sockets, frames, delivery lag, REST requests.

Frames are counted on the one write path of a socket (ws/writer.py), which the fan-out calls once
per recipient with the same str: the frame's type and its counter are found once per str, like
its bytes (ws/wire.py). What runs per recipient (frames out, bytes, delivery lag) and per frame in
uses common/tallies.py's lock-free numbers, a few additions each; the rest prometheus-client's own.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

from common.metrics import REPLAY_BUCKETS, SECONDS_BUCKETS
from common.tallies import FastHistogram, Tallies, Tally

# Deliveries and REST requests cross the network at least once: 1 ms .. 10 s.
MS_BUCKETS = SECONDS_BUCKETS[1:]

SOCKETS = Gauge("parley_gateway_sockets", "WebSockets open on this gateway (signed in or not).")
USERS = Gauge("parley_gateway_users", "Distinct signed-in users with a socket on this gateway.")
FRAMES_IN = Tallies("parley_gateway_frames_in_total", "Frames received from clients, by type.", ["type"])
FRAMES_OUT = Tallies("parley_gateway_frames_out_total", "Frames sent to clients, by type.", ["type"])
BYTES_WRITTEN = Tallies(
    "parley_gateway_bytes_written_total", "WebSocket frame bytes written to sockets' transports (the fast path)."
)
_bytes_written = BYTES_WRITTEN.labels()
CLOSES = Counter("parley_gateway_socket_closes_total", "Sockets closed by the gateway, by close code.", ["code"])
RESUMES = Counter("parley_gateway_resumes_total", "Catch-ups from cursors: a socket resuming, or a resync.")
REPLAY_MESSAGES = Histogram(
    "parley_gateway_replay_messages", "Message frames replayed by one catch-up.", buckets=REPLAY_BUCKETS
)
DELIVERY_LAG = FastHistogram(
    "parley_gateway_delivery_lag_seconds",
    "From a message's storing (its created_at) to its frame's write to a socket, for live deliveries.",
    buckets=MS_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "parley_gateway_http_requests_total",
    "REST requests, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "parley_gateway_http_request_seconds",
    "REST request latency, by route template and method.",
    ["route", "method"],
    buckets=MS_BUCKETS,
)

_TYPE_START = len('{"type":"')  # every frame's JSON starts with its type (protocol.encode, dicts in order)
_last_text: str | None = None
_last_tally = Tally()


def frame_out(text: str, size: int = 0) -> None:
    """Count a frame sent to one client, and the bytes written for it (0: queued, not written by us)."""
    global _last_text, _last_tally
    if text is not _last_text:
        _last_text, _last_tally = text, FRAMES_OUT.labels(text[_TYPE_START : text.find('"', _TYPE_START)])
    _last_tally.value += 1
    _bytes_written.value += size


def delivered(created_at: float, sockets: int = 1) -> None:
    """A live message's frame was written to `sockets` sockets just now: observe their lag since its storing."""
    DELIVERY_LAG.observe(max(0.0, time.time() - created_at), sockets)


def count_users(users: Callable[[], int]) -> None:
    """Read the signed-in users from the socket index at each scrape."""
    USERS.set_function(users)


def frame_in(kind: str) -> None:
    """Count a frame received from a client ("invalid" for one that did not parse)."""
    FRAMES_IN.labels(kind).value += 1
