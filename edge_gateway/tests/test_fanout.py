"""Fan-out of chat_svc events to local connections, without sockets or services."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from edge_gateway.backends import Backends
from edge_gateway.ws.connection import Connection
from edge_gateway.ws.fanout import Fanout
from edge_gateway.ws.protocol import CLOSE_REVOKED, CLOSE_TOO_SLOW, encode, event_frame
from parley.chat.v1 import chat_pb2 as pb


def _connection(user_id: int, limit: int = 100) -> Connection:
    return Connection(cast(Any, None), user_id, "token", 0.0, limit)


def _outbox(connection: Connection) -> list[str | None]:
    queue = connection._outbox
    assert queue is not None
    return [queue.get_nowait() for _ in range(queue.qsize())]


def _message(room_id: int, seq: int) -> pb.Event:
    return pb.Event(room_id=room_id, message_created=pb.Message(room_id=room_id, seq=seq, change=seq, body="hi"))


@pytest.fixture
def fanout() -> Fanout:
    """A fan-out whose backends are never used."""
    return Fanout(cast(Backends, None))


async def test_event_is_encoded_once_for_all_recipients(fanout: Fanout) -> None:
    """Every member's socket gets the very same encoded frame object; non-members get nothing."""
    a, b, outsider = _connection(1), _connection(2), _connection(3)
    fanout.register(a, {10})
    fanout.register(b, {10})
    fanout.register(outsider, {11})
    for connection in (a, b, outsider):  # drop presence frames
        _outbox(connection)
    fanout.dispatch([_message(10, 1)])
    [frame_a], [frame_b] = _outbox(a), _outbox(b)
    assert frame_a is frame_b
    assert _outbox(outsider) == []


async def test_duplicate_and_old_messages_are_not_resent(fanout: Fanout) -> None:
    """A message at or below the socket's last seq for the room is dropped."""
    a = _connection(1)
    fanout.register(a, {10})
    fanout.dispatch([_message(10, 1), _message(10, 2), _message(10, 2), _message(10, 1)])
    assert len(_outbox(a)) == 2


async def test_slow_client_is_cut_off_without_hurting_others(fanout: Fanout) -> None:
    """A socket whose outbox is full is closed as too slow; a reading one keeps getting events."""
    slow, fast = _connection(1, limit=5), _connection(2, limit=1000)
    fanout.register(slow, {10})
    fanout.register(fast, {10})
    _outbox(fast)
    for seq in range(1, 51):
        fanout.dispatch([_message(10, seq)])
        if seq % 10 == 0:  # the fast client reads
            _outbox(fast)
    assert slow.close_code == CLOSE_TOO_SLOW
    assert fast.close_code is None
    assert fast.last_seq[10] == 50


async def test_read_markers_go_only_to_the_reader(fanout: Fanout) -> None:
    """Another member's read marker is private."""
    a, b = _connection(1), _connection(2)
    fanout.register(a, {10})
    fanout.register(b, {10})
    _outbox(a)
    _outbox(b)
    fanout.dispatch([pb.Event(room_id=10, read_marker=pb.ReadMarker(user_id=1, last_read_seq=4))])
    assert len(_outbox(a)) == 1 and _outbox(b) == []


async def test_typing_is_not_echoed_to_the_typer(fanout: Fanout) -> None:
    """The typer's own sockets do not get their typing notice."""
    a, b = _connection(1), _connection(2)
    fanout.register(a, {10})
    fanout.register(b, {10})
    _outbox(a)
    _outbox(b)
    fanout.dispatch([pb.Event(room_id=10, typing=pb.Typing(user_id=1))])
    assert _outbox(a) == [] and len(_outbox(b)) == 1


async def test_room_joined_later_is_delivered(fanout: Fanout) -> None:
    """After a member_joined event for the user, the new room's messages reach their socket."""
    a = _connection(1)
    fanout.register(a, {10})
    fanout.dispatch([pb.Event(room_id=20, member_joined=pb.Membership(user_id=1)), _message(20, 1)])
    frames = [frame for frame in _outbox(a) if frame and '"type":"message"' in frame]
    assert len(frames) == 1 and 20 in a.rooms


async def test_presence_follows_first_and_last_socket(fanout: Fanout) -> None:
    """A user is announced online with their first socket and offline after their last one."""
    watcher, first, second = _connection(9), _connection(1), _connection(1)
    fanout.register(watcher, {10})
    fanout.register(first, {10})
    fanout.register(second, {10})
    assert fanout.online(10) == [1, 9]
    fanout.unregister(first)
    assert fanout.online(10) == [1, 9]
    fanout.unregister(second)
    assert fanout.online(10) == [9]
    frames = [frame for frame in _outbox(watcher) if frame]
    assert len(frames) == 2 and '"online":true' in frames[0] and '"online":false' in frames[1]


async def test_held_events_are_released_after_catch_up(fanout: Fanout) -> None:
    """Live events held during a catch-up are sent afterwards, minus what the replay covered."""
    a = _connection(1)
    a.hold()
    fanout.register(a, {10})
    fanout.dispatch([_message(10, 2), _message(10, 3)])
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
    a.close(1000, "bye")
    assert a._outbox is not None
    assert await asyncio.wait_for(a._outbox.get(), 1) is None


async def test_ending_a_session_closes_only_its_sockets(fanout: Fanout) -> None:
    """Signing out closes that session's sockets with 4004 and leaves the user's other sessions open."""
    mine = Connection(cast(Any, None), 1, "t", 0.0, 10, session_id="s1")
    other_device = Connection(cast(Any, None), 1, "t", 0.0, 10, session_id="s2")
    fanout.register(mine, {10})
    fanout.register(other_device, {10})
    assert fanout.end_session("s1") == 1
    assert mine.close_code == CLOSE_REVOKED and other_device.close_code is None
