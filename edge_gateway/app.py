"""The FastAPI application: routers, error handlers, and backends opened in the lifespan."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from common.auth_client import PolledRevocations
from common.revocations import BrokerRevocations
from common.tracing import instrument_app
from edge_gateway import errors, metrics
from edge_gateway.backends import Backends
from edge_gateway.cluster import Cluster, ClusterPeers
from edge_gateway.deps import API_PREFIX, limit_by_address, limit_by_user
from edge_gateway.exact_bounds import restore_integers
from edge_gateway.headers import SecurityHeaders
from edge_gateway.rates import RateLimits
from edge_gateway.request_metrics import RequestMetrics
from edge_gateway.routes import auth, consent, files, health, messages, rooms, search, users
from edge_gateway.schemas import error_responses
from edge_gateway.settings import GatewaySettings, get_settings
from edge_gateway.ws import endpoint, frames
from edge_gateway.ws.caps import SocketCaps
from edge_gateway.ws.catch_up import catch_up, resync_cursors
from edge_gateway.ws.fanout import Fanout
from edge_gateway.ws.index import SocketIndex
from edge_gateway.ws.presence import NoPeers, Presence
from edge_gateway.ws.sends import SendPipe


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """The gateway app; settings default to the environment's."""
    config = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        backends = Backends.connect(config)
        index = SocketIndex()
        metrics.count_users(index.user_count)
        peers = ClusterPeers() if config.broker_url else None  # the other gateways, through Redis
        presence = Presence(index, peers or NoPeers(), config.presence_room_limit)
        fanout = Fanout(backends, index, presence, lambda c: catch_up(backends, c, resync_cursors(c)))
        sends = SendPipe(backends)
        app.state.backends, app.state.presence, app.state.fanout, app.state.sends = backends, presence, fanout, sends
        app.state.rates = RateLimits(config.rate_limits, config.broker_url)
        app.state.socket_caps = SocketCaps(config.ws_sockets_per_user, config.ws_anonymous_sockets_per_address)
        cluster = None
        if peers is not None and config.broker_url:
            instance = config.instance_id or f"{socket.gethostname()}-{os.getpid()}"
            cluster = Cluster(config.broker_url, instance, config.presence_ttl_seconds, peers, presence)
            await cluster.start()
        # Ended sessions: refused by the verifier, and their sockets here closed.
        revocations = (
            BrokerRevocations(config.broker_url, backends.verifier.revoked, presence.end_local_session)
            if config.broker_url
            else PolledRevocations(
                backends.auth,
                backends.verifier.revoked,
                config.revocation_poll_seconds,
                on_ended=presence.end_local_session,
            )
        )
        await revocations.start()
        await fanout.start()
        await sends.start()
        try:
            yield
        finally:
            await sends.stop()
            await app.state.rates.close()
            await revocations.stop()
            if cluster is not None:
                await cluster.stop()
            await fanout.stop()
            await backends.close()

    app = FastAPI(
        title="Parley gateway",
        version="1.0",
        summary="REST and WebSocket API of the Parley chat platform (see docs/protocol.md).",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json" if config.api_docs else None,
        docs_url=f"{API_PREFIX}/docs" if config.api_docs else None,
        redoc_url=None,
    )
    errors.install(app)
    _extend_document(app)
    # Innermost of the middleware: it sees the route the router matched and the status answered.
    app.add_middleware(RequestMetrics)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=config.cors_origins,
        allow_methods=["*"],
        # traceparent: the web app sends W3C trace context with each call (common/tracing.py).
        allow_headers=["Authorization", "Content-Type", "traceparent"],
        # Content-Disposition -- files: the web app names a saved download after it; Retry-After: a throttled
        # sign-in says how long to wait.
        expose_headers=["Content-Disposition", "Retry-After"],
    )
    # Outside CORS: on its answers too.
    app.add_middleware(SecurityHeaders, docs_path=f"{API_PREFIX}/docs", origins=config.cors_origins)
    # Outermost: request.client / websocket.client is the real client wherever the app looks.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=config.trusted_proxies)
    app.include_router(health.router)
    # Every REST operation is counted against its rate limit (edge_gateway/rates.py) before it runs.
    app.include_router(auth.router, prefix=API_PREFIX, dependencies=[Depends(limit_by_address)], responses=_LIMITED)
    for router in (users.router, rooms.router, consent.router, messages.router, files.router, search.router):
        app.include_router(router, prefix=API_PREFIX, dependencies=[Depends(limit_by_user)], responses=_LIMITED)
    app.include_router(endpoint.router, prefix=API_PREFIX)
    instrument_app(app)  # when tracing is on: a span per REST request, its context from `traceparent`
    return app


_LIMITED = error_responses(429)


def _extend_document(app: FastAPI) -> None:
    """Finish the OpenAPI document once, when it is first built: the WebSocket frames' schemas (ClientFrame,
    ServerFrame) join its components, and its integer bounds are made exact again."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()  # FastAPI keeps it in app.openapi_schema
            frames.add_to_openapi(document)
            restore_integers(document)
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the document
