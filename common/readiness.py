"""A service's health follows what it depends on: SERVING while its database (and, for chat_svc with
several replicas, its broker) answers, NOT_SERVING while one does not.

A service may start before them (compose, Kubernetes, a laptop's `scripts/run`): it listens at
once, says NOT_SERVING (readiness probes and the gateways' round robin route around it) and logs
why, once, then serves as soon as they answer; the same when one goes away later and comes back.
Calls made meanwhile still get the retries of common/retry.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from grpc_health.v1.health import HealthServicer

from common.db import Database
from common.server import set_serving

log = logging.getLogger(__name__)


# A dependency's check: None when it answers, else what is wrong, in one line.
Check = Callable[[], Awaitable[str | None]]


class DependencyReadiness:
    """Checks the database (and `also`) every `every_s` seconds and sets the health of `names` by them."""

    def __init__(
        self,
        db: Database,
        health: HealthServicer,
        names: Sequence[str],
        also: Sequence[Check] = (),
        every_s: float = 2.0,
    ) -> None:
        self._checks: list[Check] = [db.ping, *also]
        self._health = health
        self._names = list(names)
        self._every_s = every_s
        self._serving: bool | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def serving(self) -> bool:
        """Whether the last check found the database answering."""
        return self._serving is True

    async def start(self) -> None:
        """Check once now (so a healthy start is SERVING at once), then keep checking."""
        await self.check()
        self._task = asyncio.create_task(self._watch(), name="database-readiness")

    async def stop(self) -> None:
        """Stop checking (shutting down: the server says NOT_SERVING itself)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def check(self) -> bool:
        """Ask each dependency once and set the health by the answers; whether all answered."""
        problem = None
        for check in self._checks:
            problem = await check()
            if problem is not None:
                break
        serving = problem is None
        if serving != self._serving:
            if serving:
                log.info("dependencies answer: serving")
            else:
                log.warning("%s: not serving until it answers", problem)
            await set_serving(self._health, self._names, serving, overall=serving)  # liveness stays
            self._serving = serving
        return serving

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            await self.check()
