"""What members see of operators' actions, end to end, on MySQL.

ModerationService is called over gRPC on the stack's chat_svc; members watch through the real
gateway's REST API and WebSocket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest

from common.tokens import auth_metadata
from edge_gateway.tests.conftest import GatewayStack
from edge_gateway.tests.test_ws_e2e import (
    User,
    api as api,
    bearer,
    connect as connect,
    private_room,
    register,
    signed_in,
    ws_stack as ws_stack,
)
from parley.chat.v1 import moderation_pb2 as mod, moderation_pb2_grpc

pytestmark = pytest.mark.mysql

REASON = "reported as abuse"


@pytest.fixture
async def moderation(stack: GatewayStack) -> AsyncIterator[tuple[moderation_pb2_grpc.ModerationServiceAsyncStub, Any]]:
    """ModerationService on the stack's chat_svc, and the operator's call metadata."""
    metadata = auth_metadata(stack.service_token("operator"))
    async with grpc.aio.insecure_channel(stack.chat_address) as channel:
        yield moderation_pb2_grpc.ModerationServiceStub(channel), metadata


async def post(api: httpx.AsyncClient, user: User, room: int, key: str, body: str = "hi") -> httpx.Response:
    """A REST send."""
    return await api.post(f"/rooms/{room}/messages", json={"client_msg_id": key, "body": body}, headers=bearer(user))


async def test_a_take_down_reaches_members_live_as_a_tombstone(
    api: httpx.AsyncClient, connect: Any, moderation: tuple[Any, Any]
) -> None:
    """A member's socket gets message_deleted with taken_down true and no deleted_by; history shows the same."""
    stub, metadata = moderation
    alice, bob = await register(api, "alice"), await register(api, "bob")
    room = await private_room(api, alice, bob)
    sent = (await post(api, alice, room, "td-1", "something awful")).json()["message"]
    watcher = await signed_in(connect, bob)
    await stub.TakeDownMessage(
        mod.TakeDownMessageRequest(room_id=room, seq=sent["seq"], reason=REASON), metadata=metadata
    )
    frame = await watcher.expect("message_deleted", room_id=room)
    tombstone = frame["message"]
    assert (tombstone["seq"], tombstone["body"], tombstone["deleted"]) == (sent["seq"], "", True)
    assert (tombstone["taken_down"], tombstone["deleted_by"]) == (True, None)
    history = (await api.get(f"/rooms/{room}/messages", headers=bearer(alice))).json()["messages"]
    assert [(m["seq"], m["taken_down"]) for m in history] == [(sent["seq"], True)]


async def test_a_send_to_an_archived_room_answers_409_and_restore_lets_it_through(
    api: httpx.AsyncClient, moderation: tuple[Any, Any]
) -> None:
    """REST sends to an archived room answer 409 room_archived; after RestoreRoom they are stored."""
    stub, metadata = moderation
    alice = await register(api, "alice")
    room = await private_room(api, alice)
    await stub.ArchiveRoom(mod.ArchiveRoomRequest(room_id=room, reason=REASON), metadata=metadata)
    refused = await post(api, alice, room, "a-1")
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "room_archived" and "archived" in error["message"]
    shown = (await api.get(f"/rooms/{room}", headers=bearer(alice))).json()
    assert shown["archived_at"] is not None
    await stub.RestoreRoom(mod.RestoreRoomRequest(room_id=room, reason="appeal granted"), metadata=metadata)
    stored = await post(api, alice, room, "a-2")
    assert stored.status_code == 201, stored.text


async def test_members_see_the_archive_live_and_a_socket_send_gets_room_archived(
    api: httpx.AsyncClient, connect: Any, moderation: tuple[Any, Any]
) -> None:
    """An archive comes as room_updated with archived_at; a send frame then gets an error frame room_archived."""
    stub, metadata = moderation
    alice = await register(api, "alice")
    room = await private_room(api, alice)
    socket = await signed_in(connect, alice)
    await stub.ArchiveRoom(mod.ArchiveRoomRequest(room_id=room, reason=REASON), metadata=metadata)
    updated = await socket.expect("room_updated", room_id=room)
    assert updated["room"]["archived_at"] is not None
    await socket.send(type="send", ref="s1", room_id=room, client_msg_id="ws-1", body="anyone?")
    error = await socket.expect("error", ref="s1")
    assert error["code"] == "room_archived" and "read-only" in error["message"]
