"""Run asyncio servicers under grpcio-testing.

grpcio-testing drives servicers synchronously from its own threads and does not know grpc.aio
(grpc/grpc#24942). This adapter runs each async handler on one background event loop and hands
grpcio-testing a plain function, with the same error guard the real server's interceptor applies.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, cast

import grpc
import grpc_testing
from google.protobuf.descriptor import ServiceDescriptor

from common.grpc_errors import guard_stream, guard_unary


class AsyncServicerHarness:
    """A grpc_testing server for one async servicer; call `invoke_unary` / `invoke_stream`."""

    def __init__(self, service: ServiceDescriptor, servicer: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.service = service
        self.loop = loop
        self._adapted = _SyncServicer(servicer, loop)
        self.server = grpc_testing.server_from_dictionary({service: self._adapted}, grpc_testing.strict_real_time())

    def invoke_unary(
        self, method: str, request: Any, metadata: tuple[tuple[str, str], ...] = (), timeout: float = 10.0
    ) -> tuple[Any, grpc.StatusCode, str]:
        """(response, code, details) of a unary call."""
        rpc = self.server.invoke_unary_unary(self.service.methods_by_name[method], metadata, request, timeout)
        response, _trailing, code, details = rpc.termination()
        return response, code, details

    def invoke_stream(
        self,
        method: str,
        request: Any,
        metadata: tuple[tuple[str, str], ...] = (),
        take: int = 1,
        timeout: float = 10.0,
    ) -> tuple[list[Any], grpc.StatusCode | None, str]:
        """The first `take` responses of a server-streaming call, then cancel it."""
        rpc = self.server.invoke_unary_stream(self.service.methods_by_name[method], metadata, request, timeout)
        responses = []
        code: grpc.StatusCode | None = None
        details = ""
        for _ in range(take):
            try:
                responses.append(rpc.take_response())
            except ValueError:  # the stream ended early: report why
                break
        else:
            rpc.cancel()
            return responses, None, ""
        _trailing, code, details = rpc.termination()
        return responses, code, details


class _SyncServicer:
    """Exposes each async method of a servicer as a blocking function for grpcio-testing."""

    def __init__(self, servicer: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._servicer = servicer
        self._loop = loop

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._servicer, name)
        if asyncio.iscoroutinefunction(method):
            guarded_unary = guard_unary(method, name)

            def unary(request: Any, context: Any) -> Any:
                coroutine = cast(Coroutine[Any, Any, Any], guarded_unary(request, _Context(context)))
                return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

            return unary
        guarded_stream = guard_stream(method, name)

        def stream(request: Any, context: Any) -> Iterator[Any]:
            agen = guarded_stream(request, _Context(context))
            while True:
                try:
                    step = cast(Coroutine[Any, Any, Any], agen.__anext__())
                    yield asyncio.run_coroutine_threadsafe(step, self._loop).result()
                except StopAsyncIteration:
                    return

        return stream


class _Context:
    """grpcio-testing's servicer context, with the peer it leaves unimplemented: a loopback caller's."""

    PEER = "ipv4:127.0.0.1:40000"

    def __init__(self, context: Any) -> None:
        self._context = context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def peer(self) -> str:
        """Where the call came from, as grpc.aio names it."""
        return self.PEER


def background_loop() -> tuple[asyncio.AbstractEventLoop, Callable[[], None]]:
    """An event loop running in a daemon thread, and a function that stops it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def stop() -> None:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()

    return loop, stop
