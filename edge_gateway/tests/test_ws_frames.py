"""The WebSocket frame models: in the OpenAPI document, and matching the frames the gateway builds."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from edge_gateway.app import create_app
from edge_gateway.settings import GatewaySettings
from edge_gateway.ws import protocol as p
from edge_gateway.ws.frames import SERVER_FRAME
from parley.chat.v1 import chat_pb2 as pb

CLIENT_TYPES = {"auth", "send", "typing", "read", "ping", "reauth", "react"}
SERVER_TYPES = {
    "ready",
    "caught_up",
    "message",
    "message_edited",
    "message_deleted",
    "typing",
    "presence",
    "member_joined",
    "member_left",
    "read_marker",
    "room_updated",
    "thread_updated",
    "member_settings",
    "replay_started",
    "send_ack",
    "typing_ack",
    "read_ack",
    "reauth_ack",
    "pong",
    "error",
    # reactions and moderation
    "reaction",
    "role_changed",
    "message_updated",
    "react_ack",
    # consent
    "invitation",
}
NOW = Timestamp(seconds=1_795_539_945)
MESSAGE = pb.Message(room_id=1, seq=3, change=4, sender_id=2, client_msg_id="c", body="hi", created_at=NOW)


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    """components.schemas of the gateway's OpenAPI document."""
    app = create_app(GatewaySettings(client_secret="an-openapi-test-secret"))
    found: dict[str, Any] = app.openapi()["components"]["schemas"]
    return found


@pytest.mark.parametrize(("union", "types"), [("ClientFrame", CLIENT_TYPES), ("ServerFrame", SERVER_TYPES)])
def test_openapi_holds_each_frame_union(schemas: dict[str, Any], union: str, types: set[str]) -> None:
    """ClientFrame and ServerFrame are component schemas discriminated by type, every member resolvable."""
    mapping = schemas[union]["discriminator"]["mapping"]
    assert set(mapping) == types
    assert all(ref.rsplit("/", 1)[-1] in schemas for ref in mapping.values())


def test_frames_reuse_the_rest_shapes(schemas: dict[str, Any]) -> None:
    """A message frame's message is the REST Message schema, not a copy of it."""
    assert schemas["MessageFrame"]["properties"]["message"] == {"$ref": "#/components/schemas/Message"}


BUILT = [
    p.send_ack("1", MESSAGE, duplicate=False),
    p.send_ack(None, MESSAGE, duplicate=True),
    p.typing_ack("2", pb.SendTypingResponse(expires_at=NOW)),
    p.read_ack("3", 1, pb.MarkReadResponse(last_read_seq=3, unread_count=0)),
    p.reauth_ack("4", 1_795_539_945.0),
    p.pong(None),
    p.error_frame("not_found", "room 9 does not exist", "5"),
    p.error_frame("unauthenticated", "send an auth frame first"),
    p.error_frame("resource_exhausted", "too many requests (send); try again in 2 s", "7", 1500),
    p.event_frame(pb.Event(room_id=1, replay_started=pb.ReplayStart(cursor_seq=0, after_seq=1500))),
    p.presence_frame(1, 2, online=True),
    p.event_frame(
        pb.Event(
            room_id=1,
            thread_updated=pb.ThreadUpdated(
                root_seq=3, change=9, thread=pb.ThreadSummary(reply_count=2, last_reply_seq=8, participant_ids=[2, 1])
            ),
        )
    ),
    p.event_frame(
        pb.Event(room_id=1, member_settings=pb.MemberSettings(user_id=2, notification_level=pb.NOTIFICATION_LEVEL_NONE))
    ),
    p.react_ack(
        "6",
        1,
        pb.ReactResponse(
            message=pb.Message(
                room_id=1,
                seq=3,
                change=5,
                sender_id=2,
                client_msg_id="c",
                body="hi",
                created_at=NOW,
                reactions=[pb.Reaction(emoji="👍", count=1, user_ids=[2], me=True)],
            ),
            changed=True,
        ),
    ),
]


@pytest.mark.parametrize("frame", BUILT, ids=lambda frame: str(frame["type"]))
def test_built_frames_match_their_models(frame: dict[str, Any]) -> None:
    """Each answer frame the protocol module builds validates against ServerFrame, field for field."""
    model = SERVER_FRAME.validate_python(frame)
    assert SERVER_FRAME.dump_python(model, mode="json", exclude_unset=True) == frame
