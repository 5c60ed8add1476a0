"""MySQL killed mid-traffic (SIGKILL) and started again: people chatting do not notice a short outage.

Two gateways and two chat_svc replicas over a MariaDB server of the test's own. A 3 s outage is
ridden out behind the services (common/retry.py): every send is acked exactly once with no client
resending. A 10 s outage outlasts the retries: the sends made during it are answered `unavailable`,
nothing is half-stored, and the clients' resends (same client_msg_id) store each message once.
`pytest -rP` shows the figures.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from common import healthcheck
from tests.scale.cluster import Cluster
from tests.scale.test_failover import check, connected, settle, stop_all, traffic
from tests.support import mariadb, redis as redis_support
from tests.support.mariadb import MariaDBServer
from tests.support.processes import accepts, wait_until
from tests.support.stack import AUTH, CHAT, GATEWAY, SERVICE_NAMES, Stack

pytestmark = [pytest.mark.mysql, pytest.mark.timeout(240)]


@pytest.fixture
def database(tmp_path: Path) -> Iterator[MariaDBServer]:
    """A MariaDB server of this test's own, on a fresh data directory."""
    with mariadb.own_server(tmp_path) as server:
        yield server


@pytest.fixture
def cluster(tmp_path: Path, database: MariaDBServer) -> Iterator[Cluster]:
    """Broker, auth_svc, two chat_svc replicas and two gateways on the test's own MariaDB, as an application user."""
    redis_support.require()
    started = Cluster(tmp_path / "cluster", mysql_url=database.user("parley"))
    try:
        yield started.start()
    finally:
        started.stop()


def tracebacks(cluster: Cluster) -> list[str]:
    """Lines of the services' logs that start a traceback (an outage is logged as one line, not a stack)."""
    processes = [*cluster.stack.processes["auth_svc"], *cluster.chats, *cluster.gateways]
    return [line for process in processes for line in process.lines if "Traceback" in line]


def outage(database: MariaDBServer, seconds: float):
    """Kill the database, wait, start it again."""

    async def bounce() -> None:
        await asyncio.to_thread(database.kill)
        await asyncio.sleep(seconds)
        await asyncio.to_thread(database.start)

    return bounce


async def test_a_three_second_outage_is_invisible(cluster: Cluster, database: MariaDBServer) -> None:
    """Every send made around a 3 s outage is acked once, with no error and no resend by the client."""
    room, clients = await connected(cluster, 6, "db3")
    try:
        await traffic(clients, room, per_client=50, interval=0.1, midway=outage(database, 3.0))
        stored = await settle(cluster, clients, room, within=60)
        check("database-outage-3s", cluster, clients, room, stored)
        assert sum(c.send_errors for c in clients) == 0, "no send was answered with an error"
        assert tracebacks(cluster) == []
    finally:
        await stop_all(clients)


async def test_a_failovers_read_only_seconds_are_invisible(cluster: Cluster, database: MariaDBServer) -> None:
    """3 s of read-only (a managed failover demoting the primary): every send acked once, no error."""

    async def read_only() -> None:
        await asyncio.to_thread(database.read_only, True)
        await asyncio.sleep(3.0)
        await asyncio.to_thread(database.read_only, False)

    room, clients = await connected(cluster, 6, "dbro")
    try:
        await traffic(clients, room, per_client=50, interval=0.1, midway=read_only)
        stored = await settle(cluster, clients, room, within=60)
        check("database-read-only-3s", cluster, clients, room, stored)
        assert sum(c.send_errors for c in clients) == 0, "no send was answered with an error"
        assert tracebacks(cluster) == []
    finally:
        await stop_all(clients)


async def test_a_ten_second_outage_answers_unavailable_and_stores_each_send_once(
    cluster: Cluster, database: MariaDBServer
) -> None:
    """Sends during a 10 s outage are answered unavailable after their deadline; resent, each is stored once."""
    room, clients = await connected(cluster, 6, "db10")
    try:
        await traffic(clients, room, per_client=50, interval=0.1, midway=outage(database, 10.0))
        stored = await settle(cluster, clients, room, within=90)
        check("database-outage-10s", cluster, clients, room, stored)
        assert sum(c.send_errors for c in clients) > 0, "sends during the outage were answered with an error"
        assert tracebacks(cluster) == []
    finally:
        await stop_all(clients)


def test_services_started_before_their_database_wait_and_then_serve(tmp_path: Path, database: MariaDBServer) -> None:
    """auth_svc and chat_svc started while MySQL is down stay up (live, not ready), say why, then serve."""
    stack = Stack(tmp_path / "stack").create_databases(f"parley_test_so_{uuid.uuid4().hex[:6]}", database.url)
    database.kill()
    try:
        services = [stack.launch(AUTH), stack.launch(CHAT)]
        for process in services:
            wait_until(accepts(process.port), f"{process.module} listening", process)
        time.sleep(2.5)  # a few readiness checks
        for process in services:
            assert process.process.poll() is None, process.tail()
            assert healthcheck.check(process.address, SERVICE_NAMES[process.module], timeout=1.0) == "NOT_SERVING"
            assert any("database is unreachable" in line for line in process.lines), process.tail()
            assert healthcheck.check(process.address, "", timeout=1.0) == "SERVING", "alive: not to be restarted"
        database.start()
        for process in services:
            stack.wait_until_ready(process)
        stack.start(GATEWAY)
        user, _ = stack.register("late")
        assert user["username"].startswith("late")
    finally:
        stack.stop()
