"""Server plumbing shared by the services: health, reflection, keepalive and graceful shutdown."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple, Protocol, TypeAlias

from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from common.grpc_errors import ErrorInterceptor
from common.grpc_metrics import ServerMetricsInterceptor, client_interceptors

log = logging.getLogger(__name__)

HealthServicer: TypeAlias = Any  # grpc_health.v1.health.aio.HealthServicer; the package has no type hints

# Keepalive pings find dead peers on long-lived streams; the limits accept clients' pings.
SERVER_OPTIONS: Sequence[tuple[str, int]] = (
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.max_receive_message_length", 1 * 1024 * 1024),
    # Clients re-resolve a DNS target only when a connection closes: ending connections after 5
    # minutes lets replicas added by a scale-up receive calls. Open streams are not cut (no grace
    # limit): a gateway's event stream stays where it is until it breaks.
    ("grpc.max_connection_age_ms", 300_000),
)


class RunningServer(NamedTuple):
    """A started server, the port it listens on, its health service, and what sets its health."""

    server: aio.Server
    port: int
    health: HealthServicer
    readiness: ReadinessWatch | None = None


class ReadinessWatch(Protocol):
    """Sets a server's health while it runs (common/readiness.py); stopped before it shuts down."""

    async def stop(self) -> None: ...


def new_server() -> aio.Server:
    """An asyncio gRPC server whose handler errors become status codes, and whose calls are counted.

    The metrics interceptor comes first (outermost), so it sees the status ErrorInterceptor gives.
    """
    return aio.server(interceptors=[ServerMetricsInterceptor(), ErrorInterceptor()], options=SERVER_OPTIONS)


def add_health_and_reflection(
    server: aio.Server, service_names: Sequence[str], reflection_on: bool = True
) -> HealthServicer:
    """Serve grpc.health.v1 and (unless turned off) server reflection; every service starts SERVING."""
    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if reflection_on:
        reflection.enable_server_reflection(
            [*service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
            server,
        )
    return health_servicer


async def set_serving(
    health_servicer: HealthServicer, names: Sequence[str], serving: bool, overall: bool = True
) -> None:
    """Mark each named service, and the overall server ("") unless `overall` is False, SERVING or NOT_SERVING.

    "" is the process's liveness (it runs and will drain): a database outage leaves it SERVING, so
    that an orchestrator does not restart a process that only waits for its database.
    """
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in ["", *names] if overall else names:
        await health_servicer.set(name, status)


async def serve_until_signalled(
    running: RunningServer,
    service_names: Sequence[str],
    grace: float,
    announce: str,
    before_stop: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM, then drain: NOT_SERVING, let in-flight calls finish, stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Logged only once signals are handled: scripts and tests wait for this line.
    log.info("%s", announce)
    await stop.wait()
    log.info("shutting down: finishing in-flight calls for up to %.0fs", grace)
    if running.readiness is not None:
        await running.readiness.stop()
    await set_serving(running.health, service_names, False)
    if before_stop is not None:
        await before_stop()
    await running.server.stop(grace)
    log.info("stopped")


# Calls that are safe to send twice: reads, and writes that their request makes idempotent (a
# client_msg_id, a target state). The channel retries them on UNAVAILABLE, e.g. when a replica
# dies mid-call; CreateRoom, Register, Login and Refresh are never retried.
RETRYABLE = {
    "parley.chat.v1.ChatService": [
        "OpenDirectRoom", "GetRoom", "ListMyRooms", "ListPublicRooms", "JoinRoom", "LeaveRoom",
        "InviteMember", "ListMembers", "SendMessage", "EditMessage", "DeleteMessage", "ListMessages",
        "MarkRead", "SendTyping", "StreamEvents", "React", "UpdateRoom", "SetMemberRole", "SetNotificationLevel",
        "ListInvitations", "AcceptInvitation", "DeclineInvitation", "BlockUser", "UnblockUser", "ListBlockedUsers",
    ],
    "parley.auth.v1.AuthService": ["GetUser", "BatchGetUsers", "GetPublicKeys", "IssueServiceToken"],
}  # fmt: skip
SERVICE_CONFIG = json.dumps(
    {
        # Spread calls over every address of the target (several replicas), skipping dead ones.
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [
            {
                "name": [
                    {"service": service, "method": method}
                    for service, methods in RETRYABLE.items()
                    for method in methods
                ],
                # Up to 5 tries (gRPC's cap) over about 3 s, within the call's deadline: a replica
                # restarting; a database outage is ridden out behind the service (common/retry.py).
                "retryPolicy": {
                    "maxAttempts": 5,
                    "initialBackoff": "0.2s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
    }
)


def channel(target: str) -> aio.Channel:
    """A client channel with keepalive, round-robin over the target's addresses, safe retries, and call metrics.

    target is a gRPC target: host:port, several replicas as ipv4:h1:p1,h2:p2, or dns:///name:port.
    """
    return aio.insecure_channel(
        target,
        options=[
            ("grpc.keepalive_time_ms", 20_000),
            ("grpc.keepalive_timeout_ms", 10_000),
            ("grpc.service_config", SERVICE_CONFIG),
            ("grpc.enable_retries", 1),
        ],
        interceptors=client_interceptors(),
    )


def remaining(context: Any, default: float) -> float:
    """Time left before the caller's deadline, capped by default: the timeout for onward calls."""
    left = context.time_remaining()
    return default if left is None else max(0.0, min(default, left))
