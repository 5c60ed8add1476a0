"""The fan-out scenario's search for the highest message rate the gateway sustains.

Offering more than a server can take and then counting the leftovers as failures measures nothing
but the overload, so fan-out runs short steps at different rates instead: double the rate while a
step passes, then bisect between the highest rate that passed and the lowest that failed. Each step
is judged only by its own outcome (on a shared machine a neighbour's burst can fail one step; the
search then narrows below it instead of averaging noise into the figure), and the number of steps
bounds the total time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.results import ScenarioResult


def shortfall(step: ScenarioResult, max_p99_ms: float) -> str | None:
    """Why a step did not sustain its rate, or None when it did.

    Sustained means: every send acked (no error such as deadline_exceeded, nothing left unacked),
    every acked message delivered to every member, none twice, and 99 % of the frames delivered
    within max_p99_ms of their scheduled send (a backlog that grows during the step shows up there).
    """
    a = step.accounting
    problems = {
        "connect failures": a.connect_failures,
        "errors": a.errors,
        "unacked": a.unacked,
        "lost": a.lost,
        "duplicated": a.duplicates,
    }
    reasons = [f"{count} {what}" for what, count in problems.items() if count]
    p99 = step.figures.get("latency_p99_ms")
    if p99 is None:
        reasons.append("no frame delivered")
    elif p99 > max_p99_ms:
        reasons.append(f"latency p99 {p99:.0f} ms > {max_p99_ms:.0f} ms")
    return ", ".join(reasons) or None


@dataclass
class RateSearch:
    """Which rate to try next, from the outcomes so far (messages per second)."""

    start: float
    ceiling: float
    steps: int
    precision: float = 1.15  # stop when the highest pass is within 15 % of the lowest failure
    passed: float = 0.0  # the highest rate that passed
    failed: float = 0.0  # the lowest rate that failed (0: none yet)
    tried: list[tuple[float, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 0 < self.start <= self.ceiling or self.steps < 1:
            raise ValueError(
                f"need 0 < start <= ceiling and steps >= 1, got {self.start}, {self.ceiling}, {self.steps}"
            )

    def next_rate(self) -> float | None:
        """The rate of the next step, or None when the search is done."""
        if len(self.tried) >= self.steps:
            return None
        if not self.tried:
            return self.start
        if not self.failed:  # ramping up
            return None if self.passed >= self.ceiling else min(self.ceiling, self.passed * 2)
        if not self.passed:  # even the first step failed: halve until one passes
            return self.failed / 2
        if self.failed <= self.passed * self.precision:
            return None
        return round((self.passed + self.failed) / 2, 2)

    def record(self, rate: float, ok: bool) -> None:
        """The outcome of a step at this rate."""
        self.tried.append((rate, ok))
        if ok:
            self.passed = max(self.passed, rate)
        elif not self.failed or rate < self.failed:
            self.failed = rate
