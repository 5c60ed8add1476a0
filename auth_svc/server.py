"""auth_svc's gRPC server: create_server() for tests, serve() for the process."""

from __future__ import annotations

import asyncio
from pathlib import Path

from auth_svc import passwords
from auth_svc.admin import Admin
from auth_svc.admin_servicer import AdminServicer
from auth_svc.keys import Keyring
from auth_svc.service import Accounts
from auth_svc.servicer import AuthServicer
from auth_svc.settings import AuthSettings, get_settings
from auth_svc.throttle import MemoryStore, RedisStore, SignInThrottle, ThrottleLimits
from common.db import Database
from common.logs import setup_logging
from common.metrics import serve_metrics
from common.readiness import DependencyReadiness
from common.revocations import BrokerRevocations
from common.scopes import require_all_scoped
from common.server import RunningServer, add_health_and_reflection, new_server, serve_until_signalled
from common.tokens import TokenVerifier
from common.tracing import setup_tracing
from parley.auth.v1 import admin_pb2, admin_pb2_grpc, auth_pb2, auth_pb2_grpc

SERVICE_NAME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name
ADMIN_SERVICE_NAME = admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name
SERVICE_NAMES = [SERVICE_NAME, ADMIN_SERVICE_NAME]
MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(settings: AuthSettings) -> None:
    """Bring auth_db to the latest schema."""
    from common import migrations  # alembic loads slowly: only the migrate command pays for it

    migrations.upgrade(MIGRATIONS, settings.database_url)


def build_servicers(settings: AuthSettings, db: Database) -> tuple[AuthServicer, AdminServicer]:
    """The servicers with their keyring, verifier, hasher, throttle and announcer, without a server
    (grpcio-testing uses this)."""
    keyring = Keyring.load(settings.keys_dir, settings.active_key_id, settings.generate_key_if_missing)
    verifier = TokenVerifier(keyring.key_source(), settings.issuer, settings.audience)
    hasher = passwords.Hasher(settings.hash_threads, settings.argon2_time_cost, settings.argon2_memory_kib)
    limits = ThrottleLimits(
        settings.login_free_attempts,
        settings.login_account_free_attempts,
        settings.login_address_free_attempts,
        settings.login_max_delay_seconds,
        settings.login_memory_seconds,
    )
    store = RedisStore.from_url(settings.broker_url) if settings.broker_url else MemoryStore()
    revoked = verifier.revoked

    async def refuse_here(session_id: str, until: float, account_disabled: bool = False) -> None:
        revoked.add(session_id, until)

    # With a broker, every gateway and chat_svc hears of an ended session; without one, they poll.
    announce = BrokerRevocations(settings.broker_url, revoked).announce if settings.broker_url else refuse_here
    accounts = Accounts(db, keyring, settings, hasher, SignInThrottle(store, limits), announce)
    admin = AdminServicer(Admin(db, accounts, hasher), db, verifier)
    require_all_scoped(admin, admin_pb2.DESCRIPTOR.services_by_name["AdminService"])  # or auth_svc does not start
    return AuthServicer(accounts, db, verifier), admin


async def create_server(settings: AuthSettings, db: Database) -> RunningServer:
    """A started server on settings.host:settings.port (port 0 picks a free one)."""
    server = new_server()
    auth, admin = build_servicers(settings, db)
    auth_pb2_grpc.add_AuthServiceServicer_to_server(auth, server)
    admin_pb2_grpc.add_AdminServiceServicer_to_server(admin, server)
    health = add_health_and_reflection(server, SERVICE_NAMES, settings.grpc_reflection)
    port = server.add_insecure_port(f"{settings.host}:{settings.port}")
    await server.start()
    readiness = DependencyReadiness(db, health, SERVICE_NAMES)  # NOT_SERVING while auth_db does not answer
    await readiness.start()
    return RunningServer(server, port, health, readiness)


async def serve(settings: AuthSettings) -> None:
    """Run until SIGINT/SIGTERM, then shut down gracefully."""
    db = Database(settings.database_url, settings.db_threads, settings.db_retry_seconds)
    running = await create_server(settings, db)
    serve_metrics(settings.host, settings.metrics_port)
    announce = f"auth_svc listening on {settings.host}:{running.port}"
    try:
        await serve_until_signalled(running, SERVICE_NAMES, settings.shutdown_grace_seconds, announce)
    finally:
        db.close()


def main() -> None:
    """Entry point of `python -m auth_svc serve`."""
    settings = get_settings()
    setup_logging("auth_svc", settings.log_level)
    setup_tracing("auth_svc")  # before the server and channels: the instrumentations patch their making
    asyncio.run(serve(settings))
