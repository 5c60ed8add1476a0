"""Mentions end to end: chat_svc resolves `@username` through auth_svc and keeps the room's members."""

from __future__ import annotations

import uuid

import httpx
import pytest

from edge_gateway.tests.test_ws_e2e import (  # the e2e module's fixtures and helpers, one copy
    api as api,
    bearer,
    private_room,
    register,
    ws_stack as ws_stack,
)

pytestmark = pytest.mark.mysql


async def test_a_message_lists_the_members_it_names(api: httpx.AsyncClient) -> None:
    """`@name` in any case names a member; a user outside the room and an unknown name are left out."""
    alice, bob, carol = await register(api, "alice"), await register(api, "bob"), await register(api, "carol")
    room = await private_room(api, alice, bob)
    body = f"@{bob.username.upper()} and @{carol.username}, meet @nobody{uuid.uuid4().hex[:6]}"
    payload = {"client_msg_id": f"m-{uuid.uuid4().hex[:12]}", "body": body}
    sent = await api.post(f"/rooms/{room}/messages", json=payload, headers=bearer(alice))
    assert sent.status_code == 201, sent.text
    message = sent.json()["message"]
    assert message["mentioned_user_ids"] == [bob.id]
