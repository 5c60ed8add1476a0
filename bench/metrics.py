"""What the services' own Prometheus metrics say about a measured phase: CPU and delivery lag.

Each process of the stack serves /metrics (common/metrics.py). Read before and after a phase, the
difference gives each component's CPU seconds (process_cpu_seconds_total, the same figure
Prometheus graphs) and the delivery-lag histogram of the messages of that phase
(parley_gateway_delivery_lag_seconds: message stored -> frame written, measured inside the
gateway), whose quantiles are interpolated within buckets as PromQL's histogram_quantile does.
From those: CPU milliseconds per 1,000 delivered messages per component, the figure that says what
the mesh costs on any machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

CPU = "process_cpu_seconds_total"
DELIVERY_LAG = "parley_gateway_delivery_lag_seconds"


@dataclass
class Snapshot:
    """One process's counters at one moment."""

    cpu_s: float = 0.0
    lag_buckets: dict[float, float] = field(default_factory=dict)  # le -> cumulative count, over every label set


def scrape(url: str) -> Snapshot:
    """The CPU seconds and delivery-lag buckets a /metrics URL serves (empty when it cannot be read)."""
    snapshot = Snapshot()
    try:
        text = httpx.get(url, timeout=5).text
    except httpx.HTTPError:
        return snapshot
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == CPU:
                snapshot.cpu_s += sample.value
            elif sample.name == f"{DELIVERY_LAG}_bucket":
                le = float(sample.labels["le"])
                snapshot.lag_buckets[le] = snapshot.lag_buckets.get(le, 0.0) + sample.value
    return snapshot


def read(urls: dict[str, str]) -> dict[str, Snapshot]:
    """A snapshot of every component's metrics URL."""
    return {name: scrape(url) for name, url in urls.items()}


def quantile(fraction: float, buckets: dict[float, float]) -> float | None:
    """histogram_quantile over cumulative buckets (le -> count); None when nothing was observed."""
    ordered = sorted(buckets.items())
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = fraction * ordered[-1][1]
    lower, below = 0.0, 0.0
    for le, count in ordered:
        if count >= rank:
            if math.isinf(le):
                return lower  # past the highest finite bucket: its bound, as Prometheus answers
            return lower + (le - lower) * ((rank - below) / (count - below) if count > below else 1.0)
        lower, below = le, count
    return lower


def figures(before: dict[str, Snapshot], after: dict[str, Snapshot], delivered: int) -> dict[str, float]:
    """CPU ms per 1,000 delivered messages per component, and the delivery lag's p50/p99 in ms, over a phase."""
    found: dict[str, float] = {}
    for name, end in after.items():
        start = before.get(name, Snapshot())
        cpu_ms = (end.cpu_s - start.cpu_s) * 1000
        found[f"cpu_ms_{name}"] = cpu_ms
        if delivered:
            found[f"cpu_ms_per_1k_delivered_{name}"] = cpu_ms * 1000 / delivered
    lag: dict[float, float] = {}
    for name, end in after.items():
        start = before.get(name, Snapshot())
        for le, count in end.lag_buckets.items():
            lag[le] = lag.get(le, 0.0) + count - start.lag_buckets.get(le, 0.0)
    for label, fraction in (("p50", 0.5), ("p99", 0.99)):
        value = quantile(fraction, lag)
        if value is not None:
            found[f"delivery_lag_{label}_ms"] = value * 1000
    return found
