"""FastAPI dependencies: the backends, and the verified caller of a request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import grpc
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from common.errors import ServiceError
from common.grpc_errors import status_for
from common.tokens import Principal, TokenExpired, auth_metadata
from edge_gateway.backends import Backends
from edge_gateway.errors import ApiError, Reason
from edge_gateway.rates import RateLimits, route_family

API_PREFIX = "/api/v1"


def get_backends(request: Request) -> Backends:
    """The app's backends (opened in its lifespan)."""
    backends: Backends = request.app.state.backends
    return backends


BackendsDep = Annotated[Backends, Depends(get_backends)]

_bearer = HTTPBearer(auto_error=False, description="An access token from /api/v1/auth/login")


@dataclass(frozen=True)
class Caller:
    """A user whose access token was verified locally."""

    principal: Principal
    token: str

    @property
    def user_id(self) -> int:
        """The user's id."""
        return self.principal.user_id

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata that forwards the user's token to the services."""
        return auth_metadata(self.token)


async def verify_user_token(backends: Backends, token: str) -> Principal:
    """The principal of a user's access token; ApiError when it does not hold."""
    try:
        principal = await backends.verifier.verify(token)
    except TokenExpired as exc:
        raise ApiError(status_for(exc), exc.message, Reason.TOKEN_EXPIRED) from exc
    except ServiceError as exc:
        raise ApiError(status_for(exc), exc.message) from exc
    if principal.is_service:
        raise ApiError(grpc.StatusCode.PERMISSION_DENIED, "a service token cannot act as a user", Reason.SERVICE_TOKEN)
    return principal


async def current_caller(
    backends: BackendsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Caller:
    """The verified user behind `Authorization: Bearer ...`."""
    if credentials is None:
        raise ApiError(grpc.StatusCode.UNAUTHENTICATED, "missing header: Authorization: Bearer <access token>")
    principal = await verify_user_token(backends, credentials.credentials)
    return Caller(principal, credentials.credentials)


CallerDep = Annotated[Caller, Depends(current_caller)]


def client_address(connection: HTTPConnection) -> str:
    """The client's address (the proxy's forwarded one, by ProxyHeadersMiddleware); "" when unknown."""
    return connection.client.host if connection.client else ""


def _family(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path).removeprefix(API_PREFIX)
    return route_family(request.method, path)


async def limit_by_user(request: Request, caller: CallerDep) -> None:
    """Count the request against its operation's rate limit for the caller (429 when over)."""
    rates: RateLimits = request.app.state.rates
    await rates.hit(_family(request), caller.user_id)


async def limit_by_address(request: Request) -> None:
    """Count the request against its operation's rate limit for the client address (no user yet)."""
    rates: RateLimits = request.app.state.rates
    await rates.hit(_family(request), client_address(request))
