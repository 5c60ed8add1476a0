"""A scenario's result: the merged accounting of all workers, and the figures drawn from it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.plans import Outcome

Samples = npt.NDArray[np.int64]


def percentile(ordered: Samples, fraction: float) -> float:
    """The nearest-rank percentile of an ascending array (0.0 when empty)."""
    if not len(ordered):
        return 0.0
    return float(ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))])


def add_timelines(timelines: list[list[int]]) -> list[int]:
    """Element-wise sum of per-bucket counts of different lengths."""
    total = [0] * max((len(t) for t in timelines), default=0)
    for timeline in timelines:
        for index, count in enumerate(timeline):
            total[index] += count
    return total


@dataclass
class Accounting:
    """Lost, duplicated and failed, summed over every socket of a scenario."""

    sockets: int = 0
    connect_failures: int = 0
    errors: int = 0
    reconnects: int = 0
    lost: int = 0  # acked seqs a member's socket never got, plus acked messages not in the database
    duplicates: int = 0  # message frames received twice on one socket, plus duplicate rows
    unacked: int = 0  # sends that never got an ack or an error
    unexpected: int = 0  # frames of stored messages whose ack never came
    stored_unacked: int = 0  # rows in the database nobody saw acked
    db_checked: bool = False
    error_samples: list[str] = field(default_factory=list)


@dataclass
class ScenarioResult:
    """Everything one scenario measured on one target."""

    scenario: str
    target: str
    params: dict[str, Any]
    figures: dict[str, float] = field(default_factory=dict)
    accounting: Accounting = field(default_factory=Accounting)
    cpu_percent: dict[str, float] = field(default_factory=dict)  # of one core, over the send window
    bucket_ms: int = 100
    acks: list[tuple[int, int, str]] = field(default_factory=list)  # (room, seq, client_msg_id)
    delivered: list[int] = field(default_factory=list)
    acked: list[int] = field(default_factory=list)
    latencies_us: Samples = field(default_factory=lambda: np.zeros(0, np.int64))  # ascending
    seconds: float = 0.0

    def merge(self, outcomes: list[Outcome]) -> None:
        """Sum the workers' outcomes into this result."""
        a = self.accounting
        for o in outcomes:
            a.lost += o.lost
            a.duplicates += o.duplicates
            a.unexpected += o.unexpected
            a.errors += o.errors
            a.reconnects += o.reconnects
            a.error_samples.extend(o.error_samples[: 20 - len(a.error_samples)])
        self.delivered = add_timelines([o.delivered for o in outcomes])
        self.acked = add_timelines([o.acked for o in outcomes])
        ordered = np.sort(np.concatenate([np.frombuffer(o.latencies_us, np.int64) for o in outcomes]))
        self.latencies_us = ordered
        if len(ordered):
            self.figures.update(
                {f"latency_{name}_ms": percentile(ordered, q) / 1000 for name, q in _QUANTILES}
                | {"latency_max_ms": float(ordered[-1]) / 1000, "latency_samples": float(len(ordered))}
            )
        ack_ordered = np.sort(np.concatenate([np.frombuffer(o.ack_us, np.int64) for o in outcomes]))
        if len(ack_ordered):
            self.figures["ack_p50_ms"] = percentile(ack_ordered, 0.5) / 1000
            self.figures["ack_p99_ms"] = percentile(ack_ordered, 0.99) / 1000

    @property
    def clean(self) -> bool:
        """No loss, duplicates or errors."""
        a = self.accounting
        return a.lost == a.duplicates == a.errors == a.unacked == a.connect_failures == 0

    def to_json(self) -> dict[str, Any]:
        """The result without the raw samples (those go to the plots)."""
        return {
            "scenario": self.scenario,
            "target": self.target,
            "params": self.params,
            "figures": {k: round(v, 3) for k, v in self.figures.items()},
            "accounting": self.accounting.__dict__,
            "clean": self.clean,
            "cpu_percent_of_one_core": {k: round(v, 1) for k, v in self.cpu_percent.items()},
            "seconds": round(self.seconds, 2),
            "timeline_bucket_ms": self.bucket_ms,
            "delivered_per_bucket": self.delivered,
            "acked_per_bucket": self.acked,
        }


_QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
