"""Fan-out of chat_svc events to local connections, without sockets or services."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, cast

import pytest

from edge_gateway.backends import Backends
from edge_gateway.ws.connection import Connection
from edge_gateway.ws.fanout import Fanout
from edge_gateway.ws.index import SocketIndex
from edge_gateway.ws.presence import NoPeers, Presence
from edge_gateway.ws.protocol import CLOSE_REVOKED, CLOSE_TOO_SLOW, encode, event_frame
from edge_gateway.ws.writer import SocketWriter
from parley.chat.v1 import chat_pb2 as pb


def _connection(user_id: int, limit: int = 100, session_id: str = "") -> Connection:
    # No websocket: the outbox's writer task is never started, the tests read the outbox themselves.
    writer = SocketWriter(cast(Any, None), None, limit)
    return Connection(writer, user_id, "token", 0.0, limit, session_id)


def _outbox(connection: Connection) -> list[str | None]:
    queue = connection.writer._outbox
    assert queue is not None
    return [queue.get_nowait() for _ in range(queue.qsize())]


async def _no_catch_up(connection: Connection) -> None:
    raise AssertionError("the event stream never breaks in these tests")


@dataclass
class Local:
    """This gateway's sockets: who is online, and the pump that routes events to them."""

    presence: Presence
    fanout: Fanout


def _message(room_id: int, seq: int) -> pb.Event:
    return pb.Event(room_id=room_id, message_created=pb.Message(room_id=room_id, seq=seq, change=seq, body="hi"))


@pytest.fixture
def local() -> Local:
    """A fan-out fed by hand (its backends are never used), on a gateway of its own."""
    index = SocketIndex()
    presence = Presence(index, NoPeers(), room_limit=200)
    return Local(presence, Fanout(cast(Backends, None), index, presence, _no_catch_up))


async def test_event_is_encoded_once_for_all_recipients(local: Local) -> None:
    """Every member's socket gets the very same encoded frame object; non-members get nothing."""
    a, b, outsider = _connection(1), _connection(2), _connection(3)
    local.presence.connected(a, {10})
    local.presence.connected(b, {10})
    local.presence.connected(outsider, {11})
    for connection in (a, b, outsider):  # drop presence frames
        _outbox(connection)
    local.fanout.dispatch([_message(10, 1)])
    [frame_a], [frame_b] = _outbox(a), _outbox(b)
    assert frame_a is frame_b
    assert _outbox(outsider) == []


async def test_duplicate_and_old_messages_are_not_resent(local: Local) -> None:
    """A message at or below the socket's last seq for the room is dropped."""
    a = _connection(1)
    local.presence.connected(a, {10})
    local.fanout.dispatch([_message(10, 1), _message(10, 2), _message(10, 2), _message(10, 1)])
    assert len(_outbox(a)) == 2


async def test_slow_client_is_cut_off_without_hurting_others(local: Local) -> None:
    """A socket whose outbox is full is closed as too slow; a reading one keeps getting events."""
    slow, fast = _connection(1, limit=5), _connection(2, limit=1000)
    local.presence.connected(slow, {10})
    local.presence.connected(fast, {10})
    _outbox(fast)
    for seq in range(1, 51):
        local.fanout.dispatch([_message(10, seq)])
        if seq % 10 == 0:  # the fast client reads
            _outbox(fast)
    assert slow.writer.close_code == CLOSE_TOO_SLOW
    assert fast.writer.close_code is None
    assert fast.last_seq[10] == 50


async def test_read_markers_go_only_to_the_reader(local: Local) -> None:
    """Another member's read marker is private."""
    a, b = _connection(1), _connection(2)
    local.presence.connected(a, {10})
    local.presence.connected(b, {10})
    _outbox(a)
    _outbox(b)
    local.fanout.dispatch([pb.Event(room_id=10, read_marker=pb.ReadMarker(user_id=1, last_read_seq=4))])
    assert len(_outbox(a)) == 1 and _outbox(b) == []


async def test_typing_is_not_echoed_to_the_typer(local: Local) -> None:
    """The typer's own sockets do not get their typing notice."""
    a, b = _connection(1), _connection(2)
    local.presence.connected(a, {10})
    local.presence.connected(b, {10})
    _outbox(a)
    _outbox(b)
    local.fanout.dispatch([pb.Event(room_id=10, typing=pb.Typing(user_id=1))])
    assert _outbox(a) == [] and len(_outbox(b)) == 1


async def test_room_joined_later_is_delivered(local: Local) -> None:
    """After a member_joined event for the user, the new room's messages reach their socket."""
    a = _connection(1)
    local.presence.connected(a, {10})
    local.fanout.dispatch([pb.Event(room_id=20, member_joined=pb.Membership(user_id=1)), _message(20, 1)])
    frames = [frame for frame in _outbox(a) if frame and '"type":"message"' in frame]
    assert len(frames) == 1 and 20 in a.rooms


async def test_presence_follows_first_and_last_socket(local: Local) -> None:
    """A user is announced online with their first socket and offline after their last one."""
    watcher, first, second = _connection(9), _connection(1), _connection(1)
    local.presence.connected(watcher, {10})
    local.presence.connected(first, {10})
    local.presence.connected(second, {10})
    assert local.presence.online(10) == [1, 9]
    local.presence.disconnected(first)
    assert local.presence.online(10) == [1, 9]
    local.presence.disconnected(second)
    assert local.presence.online(10) == [9]
    frames = [frame for frame in _outbox(watcher) if frame]
    assert len(frames) == 2 and '"online":true' in frames[0] and '"online":false' in frames[1]


async def test_held_events_are_released_after_catch_up(local: Local) -> None:
    """Live events held during a catch-up are sent afterwards, minus what the replay covered."""
    a = _connection(1)
    a.hold()
    local.presence.connected(a, {10})
    local.fanout.dispatch([_message(10, 2), _message(10, 3)])
    a.deliver(10, 1, 1, "replay-1", replay=True)
    a.deliver(10, 2, 2, "replay-2", replay=True)
    a.release()
    assert _outbox(a) == ["replay-1", "replay-2", fanout_frame_text(3)]


def fanout_frame_text(seq: int) -> str:
    """The encoded frame of message seq in room 10, as the fan-out encodes it."""
    frame = event_frame(_message(10, seq))
    assert frame is not None
    return encode(frame)


async def test_closed_connection_ends_its_writer() -> None:
    """close() lets the writer finish instead of waiting forever."""
    a = _connection(1)
    a.writer.close(1000, "bye")
    assert a.writer._outbox is not None
    assert await asyncio.wait_for(a.writer._outbox.get(), 1) is None


async def test_ending_a_session_closes_only_its_sockets(local: Local) -> None:
    """Signing out closes that session's sockets with 4004 and leaves the user's other sessions open."""
    mine, other_device = _connection(1, session_id="s1"), _connection(1, session_id="s2")
    local.presence.connected(mine, {10})
    local.presence.connected(other_device, {10})
    assert local.presence.end_session("s1") == 1
    assert mine.writer.close_code == CLOSE_REVOKED and other_device.writer.close_code is None
