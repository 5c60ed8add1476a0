"""`python -m common.healthcheck HOST:PORT [SERVICE]`: exit 0 iff the gRPC health service says SERVING.

The container health check of auth_svc and chat_svc (Dockerfile HEALTHCHECK, docker/compose.yaml):
it speaks the standard grpc.health.v1 protocol with the grpcio already in the image, so the image
needs no grpc_health_probe or grpcurl binary. Kubernetes does not need it: its native `grpc:`
probes speak the same protocol.

SERVICE is a fully qualified service name (parley.auth.v1.AuthService); without it the server as a
whole ("") is checked. Anything but SERVING within the deadline - NOT_SERVING while draining,
UNKNOWN, NOT_FOUND for a service the server lacks, no answer at all - exits 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

DEADLINE_SECONDS = 3.0
SERVING = "SERVING"


def check(target: str, service: str = "", timeout: float = DEADLINE_SECONDS) -> str:
    """The status name the server at target reports for service, or the gRPC error code's name."""
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as exc:
            # Every error a call raises is also a grpc.Call; the check keeps the type checker honest.
            return exc.code().name if isinstance(exc, grpc.Call) else type(exc).__name__
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, check once, report one line, and return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m common.healthcheck", description=__doc__.splitlines()[0])
    parser.add_argument("target", help="HOST:PORT of the gRPC server, e.g. 127.0.0.1:50051")
    parser.add_argument("service", nargs="?", default="", help="service name to check (default: the whole server)")
    parser.add_argument("--timeout", type=float, default=DEADLINE_SECONDS, help="deadline in seconds (default: 3)")
    options = parser.parse_args(argv)
    status = check(options.target, options.service, options.timeout)
    # Docker keeps the last lines of a health check's output: `docker inspect` shows why it failed.
    sys.stdout.write(f"{options.target} {options.service or '(server)'}: {status}\n")
    return 0 if status == SERVING else 1


if __name__ == "__main__":
    sys.exit(main())
