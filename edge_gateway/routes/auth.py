"""Accounts and sessions: register, sign in, refresh, sign out. Public: no access token needed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from common.limits import CLIENT_ADDRESS_KEY
from edge_gateway import convert
from edge_gateway.backends import Backends
from edge_gateway.deps import BackendsDep
from edge_gateway.schemas import LoginBody, RefreshTokenBody, RegisterBody, SignedIn, error_responses
from parley.auth.v1 import auth_pb2


async def _from(request: Request, backends: Backends) -> tuple[tuple[str, str], ...]:
    """Metadata naming the client's address (after ProxyHeadersMiddleware) for auth_svc's sign-in throttle,
    with the gateway's service token, without which auth_svc does not believe the name."""
    token = await backends.service_token.get()
    return (("authorization", f"Bearer {token}"), (CLIENT_ADDRESS_KEY, request.client.host if request.client else ""))


router = APIRouter(prefix="/auth", tags=["auth"], responses=error_responses(400, 422, 500, 503, 504))


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=SignedIn,
    summary="Create an account and sign in",
    responses=error_responses(409),
)
async def register(body: RegisterBody, backends: BackendsDep) -> dict[str, Any]:
    """409 when the username is taken; 400 when a field breaks the rules."""
    reply = await backends.auth.Register(
        auth_pb2.RegisterRequest(username=body.username, password=body.password, display_name=body.display_name),
        timeout=backends.timeout,
    )
    return {"user": convert.user_json(reply.user), "session": convert.session_json(reply.session)}


@router.post(
    "/login",
    response_model=SignedIn,
    summary="Sign in with username and password",
    responses=error_responses(401, 403, 429),
)
async def login(body: LoginBody, backends: BackendsDep, request: Request) -> dict[str, Any]:
    """401 for a wrong password or an unknown user alike; 429 with Retry-After while repeated failures make it wait.
    With the right password: 403 for a disabled account; 400 `failed_precondition` after an operator reset
    the password, until `new_password` is given."""
    reply = await backends.auth.Login(
        auth_pb2.LoginRequest(username=body.username, password=body.password, new_password=body.new_password),
        timeout=backends.timeout,
        metadata=await _from(request, backends),
    )
    return {"user": convert.user_json(reply.user), "session": convert.session_json(reply.session)}


@router.post(
    "/refresh", response_model=SignedIn, summary="Trade a refresh token for new tokens", responses=error_responses(401)
)
async def refresh(body: RefreshTokenBody, backends: BackendsDep) -> dict[str, Any]:
    """The presented refresh token is spent; reusing it revokes the whole session (401)."""
    reply = await backends.auth.Refresh(
        auth_pb2.RefreshRequest(refresh_token=body.refresh_token), timeout=backends.timeout
    )
    return {"user": convert.user_json(reply.user), "session": convert.session_json(reply.session)}


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out (end the session)")
async def logout(body: RefreshTokenBody, backends: BackendsDep, request: Request) -> Response:
    """Revokes the session's refresh tokens and closes its sockets on this gateway (4004). Idempotent."""
    reply = await backends.auth.Logout(
        auth_pb2.LogoutRequest(refresh_token=body.refresh_token), timeout=backends.timeout
    )
    if reply.session_id:  # refused here at once, whatever the feed of ended sessions takes
        backends.verifier.revoked.add(reply.session_id, reply.refuse_until.ToNanoseconds() / 1e9)
    request.app.state.presence.end_session(reply.session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
