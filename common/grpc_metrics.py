"""gRPC metrics: one server interceptor and one set of client interceptors, for every service and channel.

Calls by service, method and status code, their latency, and (servers) the calls in flight, named
as docs/observability.md lists them. Label children are looked up once per method (and code) and
kept, so that a call costs a dict lookup, a clock read and two or three locked float additions.
A streaming call's latency is the life of the stream.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import grpc
from grpc import aio
from prometheus_client import Counter, Gauge, Histogram

from common.metrics import SECONDS_BUCKETS

_LABELS = ("grpc_service", "grpc_method")

SERVER_HANDLED = Counter(
    "parley_grpc_server_handled_total", "gRPC calls finished by this server.", [*_LABELS, "grpc_code"]
)
SERVER_SECONDS = Histogram(
    "parley_grpc_server_handling_seconds", "Time from a call's start to its end.", _LABELS, buckets=SECONDS_BUCKETS
)
SERVER_IN_FLIGHT = Gauge("parley_grpc_server_in_flight", "gRPC calls being handled now.", _LABELS)
CLIENT_HANDLED = Counter(
    "parley_grpc_client_handled_total", "gRPC calls made by this process, finished.", [*_LABELS, "grpc_code"]
)
CLIENT_SECONDS = Histogram(
    "parley_grpc_client_handling_seconds",
    "Time from a call's start to its answer (streams: to their end).",
    _LABELS,
    buckets=SECONDS_BUCKETS,
)


class _Method:
    """One method's label children, kept so that a call needs no label lookups."""

    __slots__ = ("_handled", "_labels", "handled_counter", "in_flight", "seconds")

    def __init__(self, full_method: str, handled: Counter, seconds: Histogram, in_flight: Gauge | None) -> None:
        service, _, method = full_method.lstrip("/").partition("/")
        self._labels = (service, method)
        self.handled_counter = handled
        self._handled: dict[str, Any] = {}
        self.seconds = seconds.labels(service, method)
        self.in_flight = in_flight.labels(service, method) if in_flight is not None else None

    def done(self, code: str, started: float) -> None:
        """Count a finished call with its status code name and latency."""
        self.seconds.observe(time.perf_counter() - started)
        child = self._handled.get(code)
        if child is None:
            child = self._handled[code] = self.handled_counter.labels(*self._labels, code)
        child.inc()


def _server_code(context: Any, error: BaseException | None) -> str:
    """The status a handler ended with: what it set or aborted with, CANCELLED, or UNKNOWN for a crash."""
    if isinstance(error, asyncio.CancelledError):
        return "CANCELLED"
    code = context.code()
    if code is None:
        return "OK" if error is None else "UNKNOWN"
    return code.name if isinstance(code, grpc.StatusCode) else str(code)


class ServerMetricsInterceptor(aio.ServerInterceptor):  # type: ignore[type-arg]
    """Counts every call of a server by service, method and code, with its latency and the calls in flight.

    Installed outermost (common/server.py), so that it sees the statuses ErrorInterceptor sets.
    """

    def __init__(self) -> None:
        self._methods: dict[str, _Method] = {}

    def _method(self, name: str) -> _Method:
        method = self._methods.get(name)
        if method is None:
            method = self._methods[name] = _Method(name, SERVER_HANDLED, SERVER_SECONDS, SERVER_IN_FLIGHT)
        return method

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = self._method(handler_call_details.method)
        options = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(_measured(handler.unary_unary, method), **options)
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                _measured(cast(Callable[[Any, Any], Awaitable[Any]], handler.stream_unary), method), **options
            )
        behavior = handler.unary_stream if handler.unary_stream is not None else handler.stream_stream
        if behavior is None:
            return handler
        # A streaming handler either yields (an async generator) or awaits context.write() (a coroutine).
        wrapped: Any = (
            _measured_stream(cast(Callable[[Any, Any], AsyncIterator[Any]], behavior), method)
            if inspect.isasyncgenfunction(behavior)
            else _measured(cast(Callable[[Any, Any], Awaitable[Any]], behavior), method)
        )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(wrapped, **options)
        return grpc.stream_stream_rpc_method_handler(wrapped, **options)


def _measured(behavior: Callable[[Any, Any], Awaitable[Any]], method: _Method) -> Callable[[Any, Any], Awaitable[Any]]:
    in_flight = method.in_flight
    assert in_flight is not None

    async def measured(request: Any, context: Any) -> Any:
        started = time.perf_counter()
        in_flight.inc()
        error: BaseException | None = None
        try:
            return await behavior(request, context)
        except BaseException as exc:
            error = exc
            raise
        finally:
            in_flight.dec()
            method.done(_server_code(context, error), started)

    return measured


def _measured_stream(
    behavior: Callable[[Any, Any], AsyncIterator[Any]], method: _Method
) -> Callable[[Any, Any], AsyncIterator[Any]]:
    in_flight = method.in_flight
    assert in_flight is not None

    async def measured(request: Any, context: Any) -> AsyncIterator[Any]:
        started = time.perf_counter()
        in_flight.inc()
        error: BaseException | None = None
        try:
            async for item in behavior(request, context):
                yield item
        except GeneratorExit:  # the stream was closed from outside: the client went away
            error = asyncio.CancelledError()
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            in_flight.dec()
            method.done(_server_code(context, error), started)

    return measured


# -- clients --------------------------------------------------------------------------------------


class _ClientMethods:
    """The client side's label children, per method, shared by the interceptors of a process."""

    def __init__(self) -> None:
        self._methods: dict[str, _Method] = {}

    def get(self, details: aio.ClientCallDetails) -> _Method:
        name = details.method
        key = name.decode() if isinstance(name, bytes) else name
        method = self._methods.get(key)
        if method is None:
            method = self._methods[key] = _Method(key, CLIENT_HANDLED, CLIENT_SECONDS, None)
        return method


_CLIENT_METHODS = _ClientMethods()


async def _answered(call: Any, method: _Method, started: float) -> Any:
    """Wait for a unary answer, count it, and hand back the (finished) call for the caller to await."""
    try:
        await call
    except aio.AioRpcError as exc:
        method.done(exc.code().name, started)
    except asyncio.CancelledError:
        method.done("CANCELLED", started)
        raise
    else:
        method.done("OK", started)
    return call


def _on_done(call: Any, method: _Method, started: float) -> None:
    """Count a call when it ends, without touching it before (the caller reads it itself)."""

    def done(finished: Any) -> None:
        # code() is a coroutine, answered at once for a finished call: a task, only for streams (rare).
        task = asyncio.get_running_loop().create_task(_count(finished, method, started))
        _counting.add(task)
        task.add_done_callback(_counting.discard)

    call.add_done_callback(done)


_counting: set[asyncio.Task[None]] = set()  # references to the counting tasks until they are done


async def _count(call: Any, method: _Method, started: float) -> None:
    code: grpc.StatusCode = await call.code()
    method.done(code.name, started)


class _UnaryUnary(aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        started = time.perf_counter()
        call = await continuation(client_call_details, request)
        return await _answered(call, _CLIENT_METHODS.get(client_call_details), started)


class _UnaryStream(aio.UnaryStreamClientInterceptor):  # type: ignore[type-arg]
    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        started = time.perf_counter()
        call = await continuation(client_call_details, request)
        _on_done(call, _CLIENT_METHODS.get(client_call_details), started)  # callers read() or iterate it
        return call


def client_interceptors() -> list[Any]:  # grpc's stubs take no list of mixed interceptors
    """The interceptors that count a channel's calls: those with one request (unary and server-streaming).

    Calls that stream requests (SendMessages, UploadFile) are counted by the server only: grpc.aio's
    interceptor for them proxies write() through a queue and a task of its own, which costs each send
    and is left pending when the server ends the call first (a refused upload).
    """
    return [_UnaryUnary(), _UnaryStream()]
