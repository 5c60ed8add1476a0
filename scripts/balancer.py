"""A TCP round-robin balancer for trying several gateways on one machine (`scripts/run --replicas N`).

Development only: in production a load balancer (the Kubernetes Service and Ingress in deploy/k8s)
does this. Each new connection (HTTP or WebSocket) goes to the next gateway that accepts it; a gateway
that refuses is skipped, so killing one moves new connections to the others, and clients resume by
their cursors as docs/protocol.md describes.

    python scripts/balancer.py LISTEN_PORT BACKEND_PORT [BACKEND_PORT ...]
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def serve(listen_port: int, backends: list[int]) -> None:
    """Accept on listen_port and splice each connection to the next live backend."""
    turn = itertools.cycle(range(len(backends)))

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        for _ in backends:
            port = backends[next(turn)]
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue  # that gateway is down: try the next one
            await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))
            return
        client_writer.close()

    server = await asyncio.start_server(handle, "0.0.0.0", listen_port)
    print(f"balancer listening on 0.0.0.0:{listen_port} -> {', '.join(map(str, backends))}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Entry point."""
    listen, *backends = (int(arg) for arg in sys.argv[1:])
    if not backends:
        sys.exit(__doc__)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(listen, backends))


if __name__ == "__main__":
    main()
