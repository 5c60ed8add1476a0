"""Lock-free tallies and histograms: what a scrape of the registry shows for them."""

from __future__ import annotations

import uuid

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from common.tallies import FastHistogram, Tallies


def _name() -> str:
    return f"parley_test_{uuid.uuid4().hex[:8]}"


def _samples(name: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client import REGISTRY

    text = generate_latest(REGISTRY).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith(name)
        for s in family.samples
    }


def test_tallies_show_as_a_counter_per_label_value() -> None:
    """Each label value's Tally shows as a _total sample with its value."""
    name = _name()
    frames = Tallies(f"{name}_total", "frames", ["type"])
    frames.labels("message").value += 3
    frames.labels("pong").value += 1
    samples = _samples(name)
    assert samples[(f"{name}_total", (("type", "message"),))] == 3
    assert samples[(f"{name}_total", (("type", "pong"),))] == 1


def test_a_histogram_shows_cumulative_buckets_count_and_sum() -> None:
    """Observations land in the first bucket whose bound they do not pass; buckets are cumulative."""
    name = _name()
    lag = FastHistogram(name, "lag", buckets=(0.01, 0.1, 1.0))
    lag.observe(0.01)  # on a bound: in that bucket (le means <=)
    lag.observe(0.05, times=2)
    lag.observe(5.0)
    samples = _samples(name)
    assert samples[(f"{name}_bucket", (("le", "0.01"),))] == 1
    assert samples[(f"{name}_bucket", (("le", "0.1"),))] == 3
    assert samples[(f"{name}_bucket", (("le", "1.0"),))] == 3
    assert samples[(f"{name}_bucket", (("le", "+Inf"),))] == 4
    assert samples[(f"{name}_count", ())] == 4
    assert abs(samples[(f"{name}_sum", ())] - 5.11) < 1e-9


def test_a_registry_of_its_own_is_not_needed() -> None:
    """Tallies join the default registry (the one common/metrics.py serves), not a separate one."""
    name = _name()
    Tallies(f"{name}_total", "x")
    assert f"{name}_total" not in generate_latest(CollectorRegistry()).decode()
    assert (f"{name}_total", ()) in _samples(name)
