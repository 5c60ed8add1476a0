"""Turns ServiceError into gRPC status codes: the one place where that happens."""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar, cast

import grpc
from grpc import aio

from common import errors, retry

log = logging.getLogger(__name__)

Req = TypeVar("Req")
Resp = TypeVar("Resp")

STATUS_FOR: dict[type[errors.ServiceError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Aborted: grpc.StatusCode.ABORTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}

INTERNAL_MESSAGE = "internal error; it has been logged"
REASON_KEY = "parley-reason"  # trailing metadata: ServiceError.reason, when it has one
RETRY_AFTER_KEY = "parley-retry-after-ms"  # trailing metadata: ServiceError.retry_after in milliseconds, when set


def status_for(error: errors.ServiceError) -> grpc.StatusCode:
    """The status code for an error, looked up along its class hierarchy."""
    for cls in type(error).__mro__:
        if cls in STATUS_FOR:
            return STATUS_FOR[cls]
    return grpc.StatusCode.UNKNOWN


def reason_metadata(error: errors.ServiceError) -> tuple[tuple[str, str], ...]:
    """The trailing metadata that carries an error's reason and retry delay (none without them)."""
    trailers: tuple[tuple[str, str], ...] = ((REASON_KEY, error.reason),) if error.reason else ()
    if error.retry_after > 0:
        trailers += ((RETRY_AFTER_KEY, str(math.ceil(error.retry_after * 1000))),)
    return trailers


async def _abort_for(exc: Exception, context: Any, method: str) -> None:
    if isinstance(exc, errors.ServiceError):
        trailers = reason_metadata(exc)
        if trailers:  # set first: abort keeps them, and grpcio-testing's abort takes none of its own
            context.set_trailing_metadata(trailers)
        await context.abort(status_for(exc), exc.message)
    log.exception("unhandled error in %s", method)
    await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)


def guard_unary(
    behavior: Callable[[Req, Any], Awaitable[Resp]], method: str = ""
) -> Callable[[Req, Any], Awaitable[Resp]]:
    """Wrap a unary handler so that its errors become statuses."""

    async def guarded(request: Req, context: Any) -> Resp:
        remaining = context.time_remaining()
        if remaining is not None:  # database retries stop in time to answer (common/retry.py)
            retry.call_deadline.set(time.monotonic() + remaining)
        try:
            return await behavior(request, context)
        except (aio.AbortError, grpc.RpcError, GeneratorExit):
            raise
        except Exception as exc:
            await _abort_for(exc, context, method)
            raise  # unreachable: abort raises

    return guarded


def guard_stream(
    behavior: Callable[[Req, Any], AsyncIterator[Resp]], method: str = ""
) -> Callable[[Req, Any], AsyncIterator[Resp]]:
    """Wrap a server-streaming handler so that its errors become statuses."""

    async def guarded(request: Req, context: Any) -> AsyncIterator[Resp]:
        try:
            async for item in behavior(request, context):
                yield item
        except (aio.AbortError, grpc.RpcError, GeneratorExit):
            raise
        except Exception as exc:  # noqa: BLE001
            await _abort_for(exc, context, method)

    return guarded


class ErrorInterceptor(aio.ServerInterceptor):  # type: ignore[type-arg]
    """Applies guard_unary / guard_stream to every unary-unary, unary-stream and stream-stream method."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        if handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(
                guard_stream(cast(Callable[[Any, Any], AsyncIterator[Any]], handler.stream_stream), method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:  # client-streaming (UploadFile): one answer, like a unary call
            return grpc.stream_unary_rpc_method_handler(
                guard_unary(cast(Callable[[Any, Any], Awaitable[Any]], handler.stream_unary), method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                guard_unary(handler.unary_unary, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            behavior = handler.unary_stream
            # A streaming handler either yields (an async generator) or awaits context.write()
            # (a coroutine, like grpc_health's Watch); each needs its own wrapper.
            wrapped = (
                guard_stream(cast(Callable[[Any, Any], AsyncIterator[Any]], behavior), method)
                if inspect.isasyncgenfunction(behavior)
                else guard_unary(cast(Callable[[Any, Any], Awaitable[Any]], behavior), method)
            )
            return grpc.unary_stream_rpc_method_handler(
                wrapped,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler
