"""Operator RPCs' scope checks, written once: `@requires(scope)` on each method of an operator servicer.

The decorated method verifies the caller's token and checks the scope before anything else, then
runs with the verified Principal as its first argument (its gRPC signature stays (request,
context)). `require_all_scoped` refuses, at server start, a servicer whose service has an RPC
without a decorated method, so a new RPC cannot ship unchecked (tests/test_operator_scopes.py
calls every RPC of every operator service with tokens that lack the scopes).

    class ModerationServicer(moderation_pb2_grpc.ModerationServiceServicer):
        async def principal(self, context) -> Principal: ...   # verify the bearer token

        @requires(ADMIN_READ)
        async def FindRooms(self, principal, request, context): ...
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, TypeVar

from google.protobuf.descriptor import ServiceDescriptor

from common.tokens import Principal

_SCOPE = "__required_scope__"

Req = TypeVar("Req")
Resp = TypeVar("Resp")
S = TypeVar("S", bound="Authenticating")


class Authenticating(Protocol):
    """A servicer that can tell who calls."""

    async def principal(self, context: Any) -> Principal:
        """The verified caller of this call (Unauthenticated otherwise)."""


def requires(
    scope: str,
) -> Callable[[Callable[[S, Principal, Req, Any], Awaitable[Resp]]], Callable[[S, Req, Any], Awaitable[Resp]]]:
    """A unary RPC that needs `scope`: PERMISSION_DENIED before it runs for a token without it."""

    def decorate(
        method: Callable[[S, Principal, Req, Any], Awaitable[Resp]],
    ) -> Callable[[S, Req, Any], Awaitable[Resp]]:
        @functools.wraps(method)
        async def checked(self: S, request: Req, context: Any) -> Resp:
            principal = await self.principal(context)
            principal.require_scope(scope)
            return await method(self, principal, request, context)

        setattr(checked, _SCOPE, scope)
        return checked

    return decorate


def requires_stream(
    scope: str,
) -> Callable[[Callable[[S, Principal, Req, Any], AsyncIterator[Resp]]], Callable[[S, Req, Any], AsyncIterator[Resp]]]:
    """A server-streaming RPC that needs `scope`: PERMISSION_DENIED before its first message otherwise."""

    def decorate(
        method: Callable[[S, Principal, Req, Any], AsyncIterator[Resp]],
    ) -> Callable[[S, Req, Any], AsyncIterator[Resp]]:
        @functools.wraps(method)
        async def checked(self: S, request: Req, context: Any) -> AsyncIterator[Resp]:
            principal = await self.principal(context)
            principal.require_scope(scope)
            async for response in method(self, principal, request, context):
                yield response

        setattr(checked, _SCOPE, scope)
        return checked

    return decorate


def scope_of(method: object) -> str | None:
    """The scope a decorated method requires; None for a method without the decorator."""
    scope = getattr(method, _SCOPE, None)
    return scope if isinstance(scope, str) else None


def require_all_scoped(servicer: object, service: ServiceDescriptor) -> None:
    """TypeError unless every RPC of `service` is a method of `servicer` that requires a scope."""
    unchecked = [m.name for m in service.methods if scope_of(getattr(type(servicer), m.name, None)) is None]
    if unchecked:
        raise TypeError(f"{service.full_name} RPCs without a scope check (@requires): {', '.join(unchecked)}")
