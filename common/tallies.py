"""Lock-free counters and histograms for hot paths, exported through prometheus-client's registry.

prometheus-client takes a lock on every increment (about 1 µs a counter, 2 µs a histogram
observation here): fine per call or per batch, too much per recipient of a fan-out, which runs once
per socket per message. These keep plain Python numbers that one thread (the event loop) adds to,
and turn them into metric families only when Prometheus scrapes, from the metrics thread: reading a
number is atomic under the GIL, and a scrape that sees a sum one observation ahead of its count is
harmless. Never write to one from two threads: use prometheus-client's own metrics there.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


class Tally:
    """One counter series: add to `.value` (a plain number) from the event loop."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: float = 0


class Tallies(Collector):
    """A counter family whose series (by label values, from a small fixed set) are Tally objects."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        self._name = name.removesuffix("_total")
        self._documentation = documentation
        self._labelnames = list(labelnames)
        self._children: dict[tuple[str, ...], Tally] = {}
        if not labelnames:
            self._children[()] = Tally()
        REGISTRY.register(self)

    def labels(self, *values: str) -> Tally:
        """The series of these label values (made on first use; keep it, the lookup is the slow part)."""
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = Tally()
        return child

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)
        for values, child in tuple(self._children.items()):
            family.add_metric(list(values), child.value)
        yield family


class FastHistogram(Collector):
    """A histogram without labels: observe() is a bisect and two additions, from the event loop only."""

    __slots__ = ("_bounds", "_counts", "_documentation", "_name", "_sum")

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self._name = name
        self._documentation = documentation
        self._bounds = tuple(sorted(buckets))
        self._counts = [0] * (len(self._bounds) + 1)  # the last one: above every bound (+Inf)
        self._sum = 0.0
        REGISTRY.register(self)

    def observe(self, value: float, times: int = 1) -> None:
        """Count an observation (`times` equal ones at once: a fan-out's recipients)."""
        self._counts[bisect_left(self._bounds, value)] += times  # bisect_left: a value on a bound is in its bucket
        self._sum += value * times

    def collect(self) -> Iterator[Metric]:
        counts, total = list(self._counts), self._sum
        cumulative, buckets = 0, []
        for bound, count in zip((*self._bounds, float("inf")), counts, strict=True):
            cumulative += count
            buckets.append((floatToGoString(bound), cumulative))  # type: ignore[no-untyped-call]
        yield HistogramMetricFamily(self._name, self._documentation, buckets=buckets, sum_value=total)
