"""bench/ramp.py: the fan-out scenario's search for the highest sustained rate, and its verdict on a step."""

from __future__ import annotations

import pytest

from bench.ramp import RateSearch, shortfall
from bench.results import ScenarioResult


def run(search: RateSearch, sustains: float) -> list[float]:
    """Drive the search against a server that keeps up with rates up to `sustains`; the rates tried."""
    tried = []
    while (rate := search.next_rate()) is not None:
        tried.append(rate)
        search.record(rate, rate <= sustains)
    return tried


def test_the_rate_doubles_while_steps_pass_then_bisects_to_within_the_precision() -> None:
    """Doubling finds the first failure, bisection narrows to 15 %, and the best pass is the figure."""
    search = RateSearch(start=10, ceiling=100, steps=8)
    assert run(search, sustains=27) == [10, 20, 40, 30, 25, 27.5]
    assert search.passed == 25
    assert search.failed == 27.5


def test_the_search_stops_at_the_ceiling_when_every_step_passes() -> None:
    """A server faster than the ceiling is reported at the ceiling, without more steps."""
    search = RateSearch(start=10, ceiling=50, steps=8)
    assert run(search, sustains=1000) == [10, 20, 40, 50]
    assert search.passed == 50


def test_a_failing_first_step_halves_the_rate_until_one_passes() -> None:
    """A machine slower than the start rate still gets a figure."""
    search = RateSearch(start=10, ceiling=100, steps=6)
    assert run(search, sustains=3) == [10, 5, 2.5, 3.75, 3.12, 2.81]
    assert search.passed == 2.81


def test_the_number_of_steps_bounds_the_search() -> None:
    """Total time is bounded: never more steps than allowed."""
    search = RateSearch(start=1, ceiling=1000, steps=3)
    assert run(search, sustains=1000) == [1, 2, 4]


def test_bad_bounds_are_refused() -> None:
    """A start above the ceiling or no steps at all is a clear error."""
    with pytest.raises(ValueError, match="start <= ceiling"):
        RateSearch(start=10, ceiling=5, steps=3)


def step(p99_ms: float | None = 50.0, **accounting: int) -> ScenarioResult:
    """A finished step with these counts."""
    result = ScenarioResult("fanout", "parley", {})
    for name, value in accounting.items():
        setattr(result.accounting, name, value)
    if p99_ms is not None:
        result.figures["latency_p99_ms"] = p99_ms
    return result


def test_a_clean_prompt_step_is_sustained() -> None:
    """Every send acked and delivered within the latency bound: no shortfall."""
    assert shortfall(step(), max_p99_ms=1000) is None


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (step(unacked=3), "3 unacked"),
        (step(errors=2), "2 errors"),
        (step(lost=1), "1 lost"),
        (step(duplicates=1), "1 duplicated"),
        (step(connect_failures=4), "4 connect failures"),
        (step(p99_ms=2500), "latency p99 2500 ms > 1000 ms"),
        (step(p99_ms=None), "no frame delivered"),
    ],
)
def test_a_step_that_left_anything_behind_or_lagged_is_not_sustained(result: ScenarioResult, reason: str) -> None:
    """Unacked, errors (deadline_exceeded), loss, duplicates or a growing lag each fail a step, with the reason."""
    assert shortfall(result, max_p99_ms=1000) == reason
