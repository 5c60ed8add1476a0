"""bench/metrics.py: the figures drawn from the services' /metrics before and after a phase."""

from __future__ import annotations

import math

import pytest

from bench.metrics import Snapshot, figures, quantile


def test_quantile_interpolates_within_a_bucket_like_histogram_quantile() -> None:
    """Half of 100 observations, with 40 at most 0.01 s and 80 at most 0.1 s, lies 1/4 into the second bucket."""
    buckets = {0.01: 40.0, 0.1: 80.0, 1.0: 100.0, math.inf: 100.0}
    assert quantile(0.5, buckets) == pytest.approx(0.01 + 0.09 * 0.25)
    assert quantile(0.99, buckets) == pytest.approx(0.1 + 0.9 * 0.95)


def test_quantile_past_the_last_bucket_is_its_bound_and_none_without_observations() -> None:
    """A quantile in the +Inf bucket answers the highest finite bound; an empty histogram answers None."""
    assert quantile(0.99, {1.0: 50.0, math.inf: 100.0}) == 1.0
    assert quantile(0.5, {1.0: 0.0, math.inf: 0.0}) is None


def test_figures_give_cpu_per_thousand_deliveries_and_the_phase_lag() -> None:
    """CPU ms per 1,000 delivered messages per component, and lag quantiles of the phase's observations only."""
    before = {"chat_svc": Snapshot(1.0), "edge_gateway": Snapshot(2.0, {0.01: 500.0, math.inf: 1000.0})}
    after = {"chat_svc": Snapshot(1.5), "edge_gateway": Snapshot(4.0, {0.01: 1500.0, math.inf: 2000.0})}
    found = figures(before, after, delivered=4000)
    assert found["cpu_ms_per_1k_delivered_chat_svc"] == pytest.approx(125.0)
    assert found["cpu_ms_per_1k_delivered_edge_gateway"] == pytest.approx(500.0)
    assert found["delivery_lag_p50_ms"] == pytest.approx(5.0)  # the 1,000 new observations all lie under 10 ms
