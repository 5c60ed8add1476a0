"""What the orchestrator tells worker processes, and what they answer (all picklable)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ClientSpec:
    """One socket to open: who it is, which rooms it accounts for, and how it sends."""

    key: int  # unique in the scenario; prefixes its client_msg_ids ("c<key>-")
    token: str
    rooms: tuple[int, ...] = ()
    after_seq: int = 0  # the cursor it signs in with in each of its rooms (0: from the start)
    send_room: int = 0  # 0: receives only
    rate: float = 0.0  # open loop: messages per second on a fixed schedule
    window: int = 0  # closed loop (rate 0): sends outstanding at once
    record_latency: bool = True
    idle: bool = False  # idle: only ping frames at the heartbeat interval
    ping_interval_s: float = 0.0  # 0: the heartbeat_seconds the server announced


@dataclass(frozen=True)
class Plan:
    """A scenario's share for one worker process."""

    scenario: str
    url: str
    clients: list[ClientSpec]
    connect_concurrency: int = 200
    bucket_ms: int = 100
    settle_s: float = 60.0  # longest wait for the frames caused by connecting to stop


@dataclass(frozen=True)
class Go:
    """Start sending at start_ns and stop at end_ns (time.monotonic_ns(), the same in every process)."""

    start_ns: int
    end_ns: int
    ack_timeout_s: float = 10.0


@dataclass(frozen=True)
class Drain:
    """Wait until every socket has every acked seq of its rooms, at most timeout_s."""

    expected: dict[int, set[int]]
    timeout_s: float


@dataclass
class Connected:
    """Answer to a Plan."""

    connected: int
    failed: int
    seconds: float
    errors: list[str] = field(default_factory=list)
    reconnects: int = 0  # already during the connect phase


@dataclass
class Sent:
    """Answer to Go: what was acknowledged."""

    acks: list[tuple[int, int, str]]  # (room, seq, client_msg_id)
    unacked: int


@dataclass
class Outcome:
    """Answer to Drain: the worker's accounting."""

    latencies_us: bytes  # array('q') bytes
    ack_us: bytes
    delivered: list[int]
    acked: list[int]
    lost: int
    duplicates: int
    unexpected: int  # frames for seqs nobody saw acked (stored, but the ack never came)
    errors: int
    error_samples: list[str]
    reconnects: int
    duplicate_acks: int
    pings: int
    pongs: int
    drain_seconds: float
