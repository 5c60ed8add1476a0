"""chat_svc's gRPC server: create_server() for tests, serve() for the process."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import NamedTuple

from chat_svc import metrics
from chat_svc.broker import RedisEventBus
from chat_svc.directory import UserDirectory
from chat_svc.events import EventHub, EventSink
from chat_svc.feed import BrokerFeed
from chat_svc.moderation_servicer import ModerationServicer
from chat_svc.service import Chat
from chat_svc.servicer import ChatServicer
from chat_svc.settings import ChatSettings, get_settings
from chat_svc.sweeper import FileSweeper
from common.auth_client import PolledRevocations, auth_key_source
from common.db import Database
from common.logs import setup_logging
from common.metrics import serve_metrics
from common.readiness import DependencyReadiness
from common.revocations import BrokerRevocations
from common.scopes import require_all_scoped
from common.server import (
    RunningServer,
    add_health_and_reflection,
    channel,
    new_server,
    serve_until_signalled,
)
from common.tokens import KeySource, TokenVerifier
from common.tracing import setup_tracing
from parley.auth.v1 import auth_pb2_grpc
from parley.chat.v1 import chat_pb2, chat_pb2_grpc, moderation_pb2, moderation_pb2_grpc

SERVICE_NAME = chat_pb2.DESCRIPTOR.services_by_name["ChatService"].full_name
MODERATION = moderation_pb2.DESCRIPTOR.services_by_name["ModerationService"]
SERVICE_NAMES = [SERVICE_NAME, MODERATION.full_name]
MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(settings: ChatSettings) -> None:
    """Bring chat_db to the latest schema."""
    from common import migrations  # alembic loads slowly: only the migrate command pays for it

    migrations.upgrade(MIGRATIONS, settings.database_url)


def build_servicer(
    settings: ChatSettings,
    db: Database,
    hub: EventHub,
    keys: KeySource,
    directory: UserDirectory,
    sink: EventSink | None = None,
) -> ChatServicer:
    """The servicer and its collaborators, without a server (grpcio-testing uses this).

    Events are published to `sink` (the broker) when given, else straight into the hub.
    """
    sink = sink or hub
    chat = Chat(db, hub, sink.publish_threadsafe, directory, settings)
    verifier = TokenVerifier(keys, settings.token_issuer, settings.token_audience)
    return ChatServicer(chat, verifier)


def build_moderation(settings: ChatSettings, servicer: ChatServicer) -> ModerationServicer:
    """The operators' servicer beside a ChatServicer: the same Chat (locks, publisher) and token verifier."""
    moderation = ModerationServicer(servicer.chat.operator, servicer.verifier, settings)
    require_all_scoped(moderation, MODERATION)  # every RPC checks its scope, or chat_svc does not start
    return moderation


class Started(NamedTuple):
    """A started chat_svc and the background work it owns (stopped in this order at shutdown)."""

    running: RunningServer
    sweeper: FileSweeper
    revocations: BrokerRevocations | PolledRevocations
    hub: EventHub
    feed: BrokerFeed | None


async def create_server(settings: ChatSettings, db: Database) -> Started:
    """A started server on settings.host:settings.port (port 0 picks a free one) and its background work."""
    auth_stub = auth_pb2_grpc.AuthServiceStub(channel(settings.auth_address))
    bus = None
    if settings.broker_url is not None:
        bus = RedisEventBus(settings.broker_url, settings.broker_stream, settings.broker_maxlen)
    # With a broker, streams are refused until its reader holds its place in the stream.
    hub = EventHub(asyncio.get_running_loop(), settings.stream_queue_events, available=bus is None)
    metrics.watch_hub(hub.subscribers, hub.deepest)
    keys = auth_key_source(auth_stub, settings.keys_refresh_seconds)
    servicer = build_servicer(settings, db, hub, keys, UserDirectory(auth_stub), bus)
    revoked = servicer.revoked  # ended sessions, refused on every call
    revocations = (
        BrokerRevocations(settings.broker_url, revoked)
        if settings.broker_url
        else PolledRevocations(auth_stub, revoked, settings.revocation_poll_seconds)
    )
    await revocations.start()
    feed = None
    if bus is not None:
        feed = BrokerFeed(settings, bus, servicer.chat, hub)
        await feed.start()
    server = new_server()
    chat_pb2_grpc.add_ChatServiceServicer_to_server(servicer, server)
    moderation_pb2_grpc.add_ModerationServiceServicer_to_server(build_moderation(settings, servicer), server)
    health = add_health_and_reflection(server, SERVICE_NAMES, settings.grpc_reflection)
    port = server.add_insecure_port(f"{settings.host}:{settings.port}")
    await server.start()
    # NOT_SERVING while chat_db (or the broker, with several replicas) does not answer
    readiness = DependencyReadiness(db, health, SERVICE_NAMES, also=[feed.check] if feed is not None else [])
    await readiness.start()
    servicer.chat.sweeper.start()
    return Started(RunningServer(server, port, health, readiness), servicer.chat.sweeper, revocations, hub, feed)


async def serve(settings: ChatSettings) -> None:
    """Run until SIGINT/SIGTERM, then shut down gracefully."""
    db = Database(settings.database_url, settings.db_threads, settings.db_retry_seconds)
    started = await create_server(settings, db)
    running = started.running
    serve_metrics(settings.host, settings.metrics_port)

    async def end_streams() -> None:
        await started.sweeper.stop()
        await started.revocations.stop()
        started.hub.close()  # event streams end with UNAVAILABLE so gateways reconnect elsewhere
        if started.feed is not None:
            await started.feed.stop()

    try:
        announce = f"chat_svc listening on {settings.host}:{running.port}"
        await serve_until_signalled(running, SERVICE_NAMES, settings.shutdown_grace_seconds, announce, end_streams)
    finally:
        db.close()


def main() -> None:
    """Entry point of `python -m chat_svc serve`."""
    settings = get_settings()
    setup_logging("chat_svc", settings.log_level)
    setup_tracing("chat_svc")  # before the server, channels and engines: the instrumentations patch their making
    asyncio.run(serve(settings))
