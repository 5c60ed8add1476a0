"""chat_svc's metrics (docs/observability.md lists them): group commit, messages stored, event streams, broker."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

from common.metrics import REPLAY_BUCKETS, SECONDS_BUCKETS

# A commit waits for a disk flush (~0.5 ms here); seconds mean a database in trouble.
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)  # up to CHAT_SEND_BATCH_MAX's default

SEND_BATCH_SIZE = Histogram(
    "parley_chat_send_batch_size", "Sends stored by one group commit (one transaction).", buckets=BATCH_BUCKETS
)
COMMIT_SECONDS = Histogram(
    "parley_chat_commit_seconds",
    "Time to store one group commit's batch, from its worker thread's start to its commit.",
    buckets=COMMIT_BUCKETS,
)
MESSAGES_STORED = Counter("parley_chat_messages_stored_total", "New messages committed (repeated sends not counted).")
STREAM_SUBSCRIBERS = Gauge("parley_chat_stream_subscribers", "StreamEvents calls this replica feeds live events.")
STREAM_QUEUE_DEPTH = Gauge(
    "parley_chat_stream_queue_depth",
    "Events waiting in the fullest subscriber's buffer (CHAT_STREAM_QUEUE_EVENTS cuts it).",
)
BROKER_PUBLISH_SECONDS = Histogram(
    "parley_chat_broker_publish_seconds",
    "Time to append one batch of events to the broker's stream (XADD, retries included).",
    buckets=SECONDS_BUCKETS,
)
BROKER_CONSUME_LAG = Histogram(
    "parley_chat_broker_consume_lag_seconds",
    "From an entry's append to the broker (its stream id's time) to its reading here.",
    buckets=SECONDS_BUCKETS,
)
GAP_FILLS = Counter(
    "parley_chat_gap_fills_total",
    "New messages the sequencer read from MySQL because the broker did not bring them in time.",
)
REPLAY_MESSAGES = Histogram(
    "parley_chat_replay_messages",
    "Messages replayed by one StreamEvents call before it went live.",
    buckets=REPLAY_BUCKETS,
)


def watch_hub(subscribers: Callable[[], int], deepest: Callable[[], int]) -> None:
    """Read the event hub's subscribers and its deepest buffer at each scrape."""
    STREAM_SUBSCRIBERS.set_function(subscribers)
    STREAM_QUEUE_DEPTH.set_function(deepest)
