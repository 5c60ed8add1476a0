"""python -m edge_gateway [serve]: run the gateway with uvicorn."""

from __future__ import annotations

import argparse
import logging
import socket

import uvicorn

from common.logs import setup_logging
from common.metrics import serve_metrics
from common.tracing import setup_tracing
from edge_gateway.app import create_app
from edge_gateway.settings import get_settings
from edge_gateway.ws.wire import WireMiddleware


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(prog="python -m edge_gateway", description="Parley edge gateway")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve"], help="serve (default)")
    parser.parse_args()
    settings = get_settings()
    setup_logging("edge_gateway", settings.log_level)
    setup_tracing("edge_gateway")  # before the app and its channels: the instrumentations patch their making
    config = uvicorn.Config(
        WireMiddleware(create_app(settings)),  # outermost, to see uvicorn's own `send`
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep our JSON logging
        access_log=False,
        # uvicorn's own default trusts X-Forwarded-For from 127.0.0.1; the app's ProxyHeadersMiddleware
        # trusts only GATEWAY_TRUSTED_PROXIES instead.
        proxy_headers=False,
        ws="websockets-sansio",
        # Oversized frames get an error frame from the app and the socket stays; only far larger
        # ones make the server drop the connection (1009).
        ws_max_size=max(4 * settings.ws_max_frame_bytes, 1 << 20),
        # Transport-level pings find dead peers; the app adds its own idle timeout.
        ws_ping_interval=settings.ws_heartbeat_seconds,
        ws_ping_timeout=settings.ws_heartbeat_seconds,
        # Per-message deflate costs ~50 KiB per socket; chat frames are small.
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )
    # Bind here, so that the log names the real port even when GATEWAY_PORT=0 picks one.
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    port = sock.getsockname()[1]
    sock.listen(2048)  # accept into the backlog at once: the log line below means "connect now"
    logging.getLogger("edge_gateway").info("edge_gateway listening on %s:%d", settings.host, port)
    serve_metrics(settings.host, settings.metrics_port)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
