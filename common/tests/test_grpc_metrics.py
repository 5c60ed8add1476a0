"""The gRPC metrics interceptors: calls counted by method and code, latency and in-flight, on both ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc import aio
from prometheus_client import REGISTRY

from common import errors
from common.server import channel, new_server

SERVICE = "parley.test.Metered"


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"grpc_service": SERVICE, **labels}) or 0.0


async def _ok(request: bytes, context: Any) -> bytes:
    return request


async def _missing(request: bytes, context: Any) -> bytes:
    raise errors.NotFound("no such thing")


async def _slow(request: bytes, context: Any) -> bytes:
    await asyncio.sleep(10)
    return request


async def _stream(request: bytes, context: Any) -> AsyncIterator[bytes]:
    for _ in range(3):
        yield request


async def _serve() -> tuple[aio.Server, aio.Channel]:
    handlers = {
        "Ok": grpc.unary_unary_rpc_method_handler(_ok),
        "Missing": grpc.unary_unary_rpc_method_handler(_missing),
        "Slow": grpc.unary_unary_rpc_method_handler(_slow),
        "Stream": grpc.unary_stream_rpc_method_handler(_stream),
    }
    server = new_server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, channel(f"127.0.0.1:{port}")


async def test_calls_are_counted_by_method_and_code_on_both_ends() -> None:
    """An OK call and a NOT_FOUND one are counted under their method and code by the server and the client."""
    server, chan = await _serve()
    try:
        before = {
            kind: (_value(f"parley_grpc_{kind}_handled_total", grpc_method="Ok", grpc_code="OK"),
                   _value(f"parley_grpc_{kind}_handled_total", grpc_method="Missing", grpc_code="NOT_FOUND"))
            for kind in ("server", "client")
        }  # fmt: skip
        assert (
            await chan.unary_unary(f"/{SERVICE}/Ok", request_serializer=None, response_deserializer=None)(b"x") == b"x"
        )
        with pytest.raises(aio.AioRpcError) as raised:
            await chan.unary_unary(f"/{SERVICE}/Missing", request_serializer=None, response_deserializer=None)(b"x")
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
        for kind in ("server", "client"):
            ok, missing = before[kind]
            assert _value(f"parley_grpc_{kind}_handled_total", grpc_method="Ok", grpc_code="OK") == ok + 1
            name = f"parley_grpc_{kind}_handled_total"
            assert _value(name, grpc_method="Missing", grpc_code="NOT_FOUND") == missing + 1
    finally:
        await chan.close(None)
        await server.stop(None)


async def test_latency_is_observed_per_method() -> None:
    """Each call adds one observation to its method's latency histogram, on the server and the client."""
    server, chan = await _serve()
    try:
        server_before = _value("parley_grpc_server_handling_seconds_count", grpc_method="Ok")
        client_before = _value("parley_grpc_client_handling_seconds_count", grpc_method="Ok")
        for _ in range(3):
            await chan.unary_unary(f"/{SERVICE}/Ok", request_serializer=None, response_deserializer=None)(b"x")
        assert _value("parley_grpc_server_handling_seconds_count", grpc_method="Ok") == server_before + 3
        assert _value("parley_grpc_client_handling_seconds_count", grpc_method="Ok") == client_before + 3
    finally:
        await chan.close(None)
        await server.stop(None)


async def test_a_call_in_flight_is_gauged_until_it_ends() -> None:
    """A call being handled shows in parley_grpc_server_in_flight, and its end (CANCELLED) takes it off."""
    server, chan = await _serve()
    try:
        call = chan.unary_unary(f"/{SERVICE}/Slow", request_serializer=None, response_deserializer=None)(b"x")
        for _ in range(100):
            if _value("parley_grpc_server_in_flight", grpc_method="Slow") == 1:
                break
            await asyncio.sleep(0.01)
        assert _value("parley_grpc_server_in_flight", grpc_method="Slow") == 1
        call.cancel()
        for _ in range(100):
            if _value("parley_grpc_server_in_flight", grpc_method="Slow") == 0:
                break
            await asyncio.sleep(0.01)
        assert _value("parley_grpc_server_in_flight", grpc_method="Slow") == 0
        assert _value("parley_grpc_server_handled_total", grpc_method="Slow", grpc_code="CANCELLED") >= 1
    finally:
        await chan.close(None)
        await server.stop(None)


async def test_a_stream_is_counted_once_when_it_ends() -> None:
    """A server-streaming call is one handled call on each end, counted when its stream ends."""
    server, chan = await _serve()
    try:
        server_before = _value("parley_grpc_server_handled_total", grpc_method="Stream", grpc_code="OK")
        client_before = _value("parley_grpc_client_handled_total", grpc_method="Stream", grpc_code="OK")
        assert [
            item
            async for item in chan.unary_stream(
                f"/{SERVICE}/Stream", request_serializer=None, response_deserializer=None
            )(b"y")
        ] == [b"y"] * 3
        await asyncio.sleep(0)  # the client counts from the call's done callback
        for _ in range(100):
            if _value("parley_grpc_client_handled_total", grpc_method="Stream", grpc_code="OK") == client_before + 1:
                break
            await asyncio.sleep(0.01)
        assert _value("parley_grpc_server_handled_total", grpc_method="Stream", grpc_code="OK") == server_before + 1
        assert _value("parley_grpc_client_handled_total", grpc_method="Stream", grpc_code="OK") == client_before + 1
    finally:
        await chan.close(None)
        await server.stop(None)
