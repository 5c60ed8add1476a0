"""Health follows the dependencies: the named service NOT_SERVING while one does not answer, liveness kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

from common import healthcheck
from common.db import Database
from common.readiness import DependencyReadiness
from common.server import add_health_and_reflection, new_server

NAME = "parley.test.v1.Thing"


async def test_the_service_is_not_serving_while_a_dependency_is_down_and_serves_when_it_is_back(
    tmp_path: Path,
) -> None:
    """A failing check turns the named service NOT_SERVING (the server as a whole stays SERVING); recovery serves."""
    down = {"broker": True}

    async def broker() -> str | None:
        return "the event broker is unreachable" if down["broker"] else None

    db = Database(f"sqlite:///{tmp_path / 'r.db'}", threads=1)
    server = new_server()
    health = add_health_and_reflection(server, [NAME])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    readiness = DependencyReadiness(db, health, [NAME], also=[broker], every_s=0.1)
    try:
        await readiness.start()
        address = f"127.0.0.1:{port}"
        assert await asyncio.to_thread(healthcheck.check, address, NAME) == "NOT_SERVING"
        assert await asyncio.to_thread(healthcheck.check, address, "") == "SERVING"
        down["broker"] = False
        await asyncio.sleep(0.3)
        assert await asyncio.to_thread(healthcheck.check, address, NAME) == "SERVING"
    finally:
        await readiness.stop()
        await server.stop(0)
        db.close()
