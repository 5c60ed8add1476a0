"""ServiceError to gRPC status: the table, the class-hierarchy lookup, and a real grpc.aio server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from grpc import aio

from common import errors
from common.grpc_errors import INTERNAL_MESSAGE, STATUS_FOR, status_for
from common.server import new_server

SERVICE = "parley.test.Probe"
SECRET_DETAIL = "password=hunter2 at /srv/secret/path"


def _all_subclasses(cls: type) -> set[type]:
    direct: set[type] = set(cls.__subclasses__())
    return direct.union(*(_all_subclasses(c) for c in direct))


@pytest.mark.parametrize(("error", "code"), STATUS_FOR.items(), ids=[e.__name__ for e in STATUS_FOR])
def test_each_error_has_its_status(error: type[errors.ServiceError], code: grpc.StatusCode) -> None:
    """status_for() answers the status code listed for each ServiceError subclass."""
    assert status_for(error("why")) == code


def test_every_error_in_the_tree_is_mapped() -> None:
    """Every ServiceError subclass defined in common.errors has a row in STATUS_FOR."""
    defined = {c for c in _all_subclasses(errors.ServiceError) if c.__module__ == errors.__name__}
    assert defined == set(STATUS_FOR)


def test_status_codes_are_distinct() -> None:
    """No two errors share a status code, and none maps to OK, UNKNOWN or INTERNAL."""
    codes = list(STATUS_FOR.values())
    assert len(set(codes)) == len(codes)
    assert not {grpc.StatusCode.OK, grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL} & set(codes)


def test_subclass_of_a_subclass_takes_its_parents_status() -> None:
    """A service's own NotFound subclass (two levels down) still maps to NOT_FOUND."""

    class RoomNotFound(errors.NotFound):
        pass

    class ArchivedRoomNotFound(RoomNotFound):
        pass

    assert status_for(ArchivedRoomNotFound("gone")) == grpc.StatusCode.NOT_FOUND


def test_bare_service_error_is_unknown() -> None:
    """A ServiceError that is none of the listed kinds maps to UNKNOWN."""
    assert status_for(errors.ServiceError("odd")) == grpc.StatusCode.UNKNOWN


# -- through a real server --------------------------------------------------------------------------

Unary = Callable[[bytes, Any], Awaitable[bytes]]
Stream = Callable[[bytes, Any], Any]


async def _serve(unary: Unary | None = None, stream: Stream | None = None) -> tuple[aio.Server, int]:
    """A started new_server() on port 0 with /parley.test.Probe/Unary and /Stream (raw bytes)."""
    handlers = {}
    if unary is not None:
        handlers["Unary"] = grpc.unary_unary_rpc_method_handler(unary)
    if stream is not None:
        handlers["Stream"] = grpc.unary_stream_rpc_method_handler(stream)
    server = new_server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


@pytest.fixture
async def running() -> AsyncIterator[Callable[..., Awaitable[aio.Channel]]]:
    """Factory: start a probe server with the given handlers and answer a channel to it; all closed after."""
    servers: list[aio.Server] = []
    channels: list[aio.Channel] = []

    async def start(unary: Unary | None = None, stream: Stream | None = None) -> aio.Channel:
        server, port = await _serve(unary, stream)
        servers.append(server)
        channels.append(aio.insecure_channel(f"127.0.0.1:{port}"))
        return channels[-1]

    yield start
    for channel in channels:
        await channel.close(None)
    for server in servers:
        await server.stop(None)


async def _unary_error(channel: aio.Channel) -> aio.AioRpcError:
    with pytest.raises(aio.AioRpcError) as caught:
        await channel.unary_unary(f"/{SERVICE}/Unary", request_serializer=None, response_deserializer=None)(
            b"ping", timeout=5
        )
    return caught.value


async def _stream_items(channel: aio.Channel) -> tuple[list[bytes], aio.AioRpcError | None]:
    items: list[bytes] = []
    try:
        async for item in channel.unary_stream(
            f"/{SERVICE}/Stream", request_serializer=None, response_deserializer=None
        )(b"ping", timeout=5):
            items.append(item)
    except aio.AioRpcError as exc:
        return items, exc
    return items, None


@pytest.mark.parametrize(("error", "code"), STATUS_FOR.items(), ids=[e.__name__ for e in STATUS_FOR])
async def test_service_error_reaches_the_client(
    running: Callable[..., Awaitable[aio.Channel]], error: type[errors.ServiceError], code: grpc.StatusCode
) -> None:
    """A ServiceError raised in a unary handler arrives as its status code with its message."""

    async def handler(request: bytes, context: Any) -> bytes:
        raise error("a message for the caller")

    failure = await _unary_error(await running(unary=handler))
    assert failure.code() == code
    assert failure.details() == "a message for the caller"


async def test_unexpected_exception_in_unary_is_internal(
    running: Callable[..., Awaitable[aio.Channel]], caplog: pytest.LogCaptureFixture
) -> None:
    """A bug in a unary handler is INTERNAL with the generic message; the details stay in the log."""

    async def handler(request: bytes, context: Any) -> bytes:
        raise KeyError(SECRET_DETAIL)

    with caplog.at_level(logging.ERROR, logger="common.grpc_errors"):
        failure = await _unary_error(await running(unary=handler))
    assert failure.code() == grpc.StatusCode.INTERNAL
    assert failure.details() == INTERNAL_MESSAGE
    assert "hunter2" not in (failure.debug_error_string() or "")
    assert f"/{SERVICE}/Unary" in caplog.text
    assert "hunter2" in caplog.text  # logged with its traceback, for whoever runs the service


async def test_unexpected_exception_in_stream_is_internal(running: Callable[..., Awaitable[aio.Channel]]) -> None:
    """A bug in a server-streaming handler, after some items, ends the stream with INTERNAL and the generic message."""

    async def handler(request: bytes, context: Any) -> AsyncIterator[bytes]:
        yield b"one"
        yield b"two"
        raise RuntimeError(SECRET_DETAIL)

    items, failure = await _stream_items(await running(stream=handler))
    assert items == [b"one", b"two"]
    assert failure is not None
    assert failure.code() == grpc.StatusCode.INTERNAL
    assert failure.details() == INTERNAL_MESSAGE


async def test_service_error_in_stream_keeps_its_status(running: Callable[..., Awaitable[aio.Channel]]) -> None:
    """A ServiceError raised by a server-streaming handler arrives as its status and message."""

    async def handler(request: bytes, context: Any) -> AsyncIterator[bytes]:
        yield b"one"
        raise errors.Aborted("you fell behind; resume from seq 1")

    items, failure = await _stream_items(await running(stream=handler))
    assert items == [b"one"]
    assert failure is not None
    assert failure.code() == grpc.StatusCode.ABORTED
    assert failure.details() == "you fell behind; resume from seq 1"


async def test_explicit_abort_passes_through(running: Callable[..., Awaitable[aio.Channel]]) -> None:
    """A handler's own context.abort() reaches the client unchanged, not turned into INTERNAL."""

    async def handler(request: bytes, context: Any) -> bytes:
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "aborted on purpose")
        return b""

    failure = await _unary_error(await running(unary=handler))
    assert failure.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.details() == "aborted on purpose"


async def test_successful_calls_are_untouched(running: Callable[..., Awaitable[aio.Channel]]) -> None:
    """Handlers that do not raise answer normally through the interceptor."""

    async def unary(request: bytes, context: Any) -> bytes:
        return request + b"-pong"

    async def stream(request: bytes, context: Any) -> AsyncIterator[bytes]:
        for i in range(3):
            yield f"{i}".encode()

    channel = await running(unary=unary, stream=stream)
    assert (
        await channel.unary_unary(f"/{SERVICE}/Unary", request_serializer=None, response_deserializer=None)(
            b"ping", timeout=5
        )
        == b"ping-pong"
    )
    assert await _stream_items(channel) == ([b"0", b"1", b"2"], None)


async def test_write_style_stream_handler_works(running: Callable[..., Awaitable[aio.Channel]]) -> None:
    """A server-streaming handler that sends with context.write() instead of yield streams its items."""

    async def handler(request: bytes, context: Any) -> None:
        await context.write(b"one")
        await context.write(b"two")

    items, failure = await _stream_items(await running(stream=handler))
    if failure is not None:
        raise failure
    assert items == [b"one", b"two"]
