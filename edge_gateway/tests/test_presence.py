"""Presence across gateways: the remote view and the frames the fan-out sends on real transitions."""

from __future__ import annotations

from typing import Any, cast

import orjson
import pytest

from edge_gateway.backends import Backends
from edge_gateway.ws.connection import Connection
from edge_gateway.ws.fanout import Fanout
from edge_gateway.ws.index import SocketIndex
from edge_gateway.ws.presence import Presence, RemotePresence
from edge_gateway.ws.writer import SocketWriter
from parley.chat.v1 import chat_pb2 as pb


def _connection(user_id: int) -> Connection:
    # No websocket: the outbox's writer task is never started, the tests read the outbox themselves.
    return Connection(SocketWriter(cast(Any, None), None, 100), user_id, "token", 0.0, 100)


def _presence(connection: Connection) -> list[tuple[int, int, bool]]:
    queue = connection.writer._outbox
    assert queue is not None
    frames = [orjson.loads(text) for text in (queue.get_nowait() for _ in range(queue.qsize())) if text]
    return [(f["room_id"], f["user_id"], f["online"]) for f in frames if f["type"] == "presence"]


class Peers:
    """Records what the fan-out tells the other gateways."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def user_online(self, user_id: int, rooms: set[int]) -> None:
        self.calls.append(("online", (user_id, sorted(rooms))))

    def user_offline(self, user_id: int) -> None:
        self.calls.append(("offline", user_id))

    def session_ended(self, session_id: str) -> None:
        self.calls.append(("end_session", session_id))


async def _no_catch_up(connection: Connection) -> None:
    raise AssertionError("the event stream never breaks in these tests")


@pytest.fixture
def peers() -> Peers:
    """What this gateway told the others."""
    return Peers()


def _local(peers: Peers, room_limit: int = 200) -> tuple[Presence, Fanout]:
    index = SocketIndex()
    presence = Presence(index, peers, room_limit)
    return presence, Fanout(cast(Backends, None), index, presence, _no_catch_up)


@pytest.fixture
def presence(peers: Peers) -> Presence:
    """Presence on a gateway of its own, telling `peers`."""
    return _local(peers)[0]


def test_remote_view_reports_only_first_and_last_gateway() -> None:
    view = RemotePresence()
    assert view.online("g1", 7, {1}) is True
    assert view.online("g2", 7, {1, 2}) is False  # already online elsewhere
    assert view.offline("g1", 7) is None  # still on g2
    assert view.offline("g2", 7) == {1, 2}
    assert view.offline("g2", 7) is None  # unknown: nothing to say
    assert not view.is_online(7)


def test_a_gone_gateway_takes_only_its_own_users_offline() -> None:
    view = RemotePresence()
    view.online("g1", 7, {1})
    view.online("g1", 8, {1})
    view.online("g2", 8, {1})
    assert view.gateway_gone("g1") == [(7, {1})]
    assert view.is_online(8) and not view.is_online(7)


def test_replace_reports_both_directions_and_room_changes_follow() -> None:
    view = RemotePresence()
    view.online("g1", 7, {1})
    came, gone = view.replace("g1", {8: {2}})
    assert came == [(8, {2})] and gone == [(7, {1})]
    view.joined(8, 3)
    assert view.in_room(3) == {8}
    view.left(8, 3)
    assert view.in_room(3) == set()


async def test_remote_user_online_is_announced_to_local_members(presence: Presence) -> None:
    alice = _connection(1)
    presence.connected(alice, {10})
    presence.remote_online("g2", 2, {10, 11})
    presence.remote_online("g3", 2, {10})  # a second gateway of the same user: no new frame
    assert _presence(alice) == [(10, 2, True)]
    assert presence.online(10) == [1, 2]
    presence.remote_offline("g2", 2)
    assert _presence(alice) == []  # still on g3
    presence.remote_offline("g3", 2)
    assert _presence(alice) == [(10, 2, False)]
    assert presence.online(10) == [1]


async def test_local_sockets_of_a_user_online_elsewhere_announce_nothing(presence: Presence, peers: Peers) -> None:
    alice, bob_here = _connection(1), _connection(2)
    presence.connected(alice, {10})
    presence.remote_online("g2", 2, {10})
    _presence(alice)
    presence.connected(bob_here, {10})  # Bob opens a second socket, on this gateway
    presence.disconnected(bob_here)
    assert _presence(alice) == []  # Bob never went offline
    assert ("online", (2, [10])) in peers.calls and ("offline", 2) in peers.calls


async def test_a_dead_gateways_users_go_offline_here(presence: Presence) -> None:
    alice = _connection(1)
    presence.connected(alice, {10})
    presence.remote_online("g2", 2, {10})
    presence.remote_online("g2", 3, {10})
    _presence(alice)
    presence.remote_replace("g2", {})
    assert sorted(_presence(alice)) == [(10, 2, False), (10, 3, False)]


async def test_joining_a_room_while_online_elsewhere_is_announced_and_shared(peers: Peers) -> None:
    presence, fanout = _local(peers)
    alice = _connection(1)
    presence.connected(alice, {10})
    presence.remote_online("g2", 2, {11})
    _presence(alice)
    fanout.dispatch([pb.Event(room_id=10, member_joined=pb.Membership(user_id=2))])
    assert _presence(alice) == [(10, 2, True)]
    assert presence.online(10) == [1, 2]


async def test_sign_out_reaches_the_other_gateways(presence: Presence, peers: Peers) -> None:
    presence.end_session("s-1")
    assert ("end_session", "s-1") in peers.calls


async def test_big_rooms_get_no_presence_frames(peers: Peers) -> None:
    presence = _local(peers, room_limit=2)[0]
    crowd = [_connection(uid) for uid in (1, 2, 3)]
    for connection in crowd:
        presence.connected(connection, {10})
    for connection in crowd:
        _presence(connection)
    presence.connected(_connection(4), {10})  # room 10 now has 4 sockets here: over the limit
    assert [_presence(c) for c in crowd] == [[], [], []]
    assert presence.online(10) == [1, 2, 3, 4]  # /presence still knows
