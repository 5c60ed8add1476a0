"""Server plumbing: health, reflection, the message-size limit, and deadlines for onward calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NamedTuple

import grpc
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from common.server import add_health_and_reflection, new_server, remaining, set_serving

SERVICE = "parley.test.Echo"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Running(NamedTuple):
    """A started server's health servicer and a channel to it."""

    health: Any
    channel: aio.Channel


async def _echo(request: bytes, context: Any) -> bytes:
    return request


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    """new_server() with an echo method, health and reflection, on port 0, marked SERVING."""
    server = new_server()
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE, {"Echo": grpc.unary_unary_rpc_method_handler(_echo)}),)
    )
    health = add_health_and_reflection(server, [SERVICE])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await set_serving(health, [SERVICE], True)
    channel = aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Running(health, channel)
    finally:
        await channel.close(None)
        await server.stop(None)


async def _check(channel: aio.Channel, name: str) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return (await stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)).status


@pytest.mark.parametrize("name", ["", SERVICE], ids=["server", "service"])
async def test_health_is_serving(running: Running, name: str) -> None:
    """After set_serving(True), Check answers SERVING for the server ("") and each named service."""
    assert await _check(running.channel, name) == SERVING


@pytest.mark.parametrize("name", ["", SERVICE], ids=["server", "service"])
async def test_health_not_serving(running: Running, name: str) -> None:
    """set_serving(False), as during shutdown, turns the server and each service NOT_SERVING."""
    await set_serving(running.health, [SERVICE], False)
    assert await _check(running.channel, name) == NOT_SERVING


async def test_health_of_unknown_service_is_not_found(running: Running) -> None:
    """Check for a service the server does not have is NOT_FOUND."""
    with pytest.raises(aio.AioRpcError) as caught:
        await _check(running.channel, "parley.test.Nope")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_health_watch_streams_the_status(running: Running) -> None:
    """Watch (used by client-side health checking) streams the current status."""
    call = health_pb2_grpc.HealthStub(running.channel).Watch(health_pb2.HealthCheckRequest(service=""), timeout=5)
    try:
        first = await call.read()
    finally:
        call.cancel()
    assert first.status == SERVING


async def test_reflection_lists_services(running: Running) -> None:
    """Reflection lists the named service, health and reflection itself."""
    call = reflection_pb2_grpc.ServerReflectionStub(running.channel).ServerReflectionInfo(timeout=5)
    await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
    await call.done_writing()
    response = await call.read()
    names = {s.name for s in response.list_services_response.service}
    assert names == {SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}


async def test_oversized_request_is_refused(running: Running) -> None:
    """A request over the 1 MiB receive limit is RESOURCE_EXHAUSTED; one under it is served."""
    echo = running.channel.unary_unary(f"/{SERVICE}/Echo", request_serializer=None, response_deserializer=None)
    assert await echo(b"x" * 1000, timeout=5) == b"x" * 1000
    with pytest.raises(aio.AioRpcError) as caught:
        await echo(b"x" * (1024 * 1024 + 1), timeout=5)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


class FakeContext:
    """Just enough of a ServicerContext for remaining()."""

    def __init__(self, left: float | None) -> None:
        self._left = left

    def time_remaining(self) -> float | None:
        """The time left as given to the constructor."""
        return self._left


@pytest.mark.parametrize(
    ("left", "expected"),
    [(None, 5.0), (2.0, 2.0), (30.0, 5.0), (-1.0, 0.0)],
    ids=["no deadline", "deadline sooner", "deadline later", "deadline passed"],
)
def test_remaining_caps_onward_timeouts(left: float | None, expected: float) -> None:
    """remaining() is the caller's time left, capped by the default and never negative."""
    assert remaining(FakeContext(left), 5.0) == expected


async def test_reflection_can_be_turned_off() -> None:
    """reflection_on=False (*_GRPC_REFLECTION=false): reflection is UNIMPLEMENTED, health still answers."""
    server = new_server()
    health = add_health_and_reflection(server, [SERVICE], reflection_on=False)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await set_serving(health, [SERVICE], True)
    try:
        async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            # The request goes as an iterator: writing into a call the server has already ended can fail.
            requests = iter([reflection_pb2.ServerReflectionRequest(list_services="")])
            call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(requests, timeout=5)
            assert await call.code() == grpc.StatusCode.UNIMPLEMENTED
            assert await _check(channel, SERVICE) == SERVING
    finally:
        await server.stop(None)
