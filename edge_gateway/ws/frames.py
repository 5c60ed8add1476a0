"""The WebSocket frames as pydantic models: what clients send, what the server sends, for the docs and the web app.

Client frames are parsed with these models (edge_gateway/ws/protocol.py's `parse`). Server frames
are not: the gateway builds them as dicts and encodes each once for all its recipients (the hot
path; docs/performance.md), so these models describe the wire for the OpenAPI document (and the
TypeScript types generated from it), and edge_gateway/tests/test_ws_e2e.py validates every frame
the server sends against `ServerFrame`, so the two cannot drift apart. Nested shapes are the REST
schemas' (edge_gateway/schemas.py), and so are the integers' and the body's bounds: a room id is
the REST `Id` (1 to 2^63-1, never a bool), a seq the REST `Seq`, so that a frame the protobuf
messages cannot hold is refused here with an error frame (docs/security.md, "Frames and input bounds").
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, TypeAdapter

from common.limits import EMOJI_CHARS_MAX
from common.tracing import TRACEPARENT_MAX, valid_traceparent
from edge_gateway.schemas import (
    FileIds,
    Id,
    Invitation,
    Member,
    Message,
    MessageBody,
    MyRoom,
    NotificationLevel,
    PositiveSeq,
    Reaction,
    Role,
    Room,
    Seq,
    ThreadSummary,
    Time,
)

REF_MAX = 64
Ref = Annotated[str, Field(max_length=REF_MAX, description="Echoed in the ack or error for this frame")]
# A malformed or oversized traceparent is dropped, never refused: tracing must not break a client.
Traceparent = Annotated[
    Annotated[str, Field(max_length=TRACEPARENT_MAX)] | None,
    BeforeValidator(valid_traceparent),
    Field(
        description="W3C trace context (`00-<trace id>-<span id>-<flags>`): the frame's span joins that trace; "
        "a malformed value is ignored",
    ),
]

# -- client to server ------------------------------------------------------------------------------


class _ClientFrame(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: Ref | None = None
    traceparent: Traceparent = None


class Cursor(BaseModel):
    """Where the client is in one room."""

    model_config = ConfigDict(extra="forbid")
    room_id: Id
    after_seq: Seq = 0
    after_change: Seq = 0


class AuthFrame(_ClientFrame):
    """First frame: the access token and, after a reconnect, where to resume."""

    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=4096)
    cursors: list[Cursor] = Field(default_factory=list, max_length=10_000)


class SendFrame(_ClientFrame):
    """Post a message; answered with send_ack."""

    type: Literal["send"]
    room_id: Id
    client_msg_id: str = Field(min_length=1, max_length=64)
    body: MessageBody
    thread_root_seq: Seq = Field(0, description="Reply in this message's thread; 0 = not a reply")
    also_in_room: StrictBool = Field(False, description="With thread_root_seq: show the reply in the main timeline too")
    file_ids: FileIds = Field(default_factory=list)


class TypingFrame(_ClientFrame):
    """The user is typing in a room; answered with typing_ack when it carries a ref."""

    type: Literal["typing"]
    room_id: Id


class ReadFrame(_ClientFrame):
    """Move the read marker; answered with read_ack."""

    type: Literal["read"]
    room_id: Id
    seq: Seq


class PingFrame(_ClientFrame):
    """Keep-alive; answered with pong."""

    type: Literal["ping"]


class ReauthFrame(_ClientFrame):
    """Swap in a refreshed access token of the same user before the old one expires; answered with reauth_ack."""

    type: Literal["reauth"]
    token: str = Field(min_length=1, max_length=4096)


# -- reactions and moderation (client) --


class ReactFrame(_ClientFrame):
    """Add (add=true) or remove one's reaction to a message; answered with react_ack."""

    type: Literal["react"]
    room_id: Id
    seq: PositiveSeq
    emoji: str = Field(min_length=1, max_length=EMOJI_CHARS_MAX, description="One emoji, e.g. 👍")
    add: StrictBool


ClientFrame = Annotated[
    AuthFrame | SendFrame | TypingFrame | ReadFrame | PingFrame | ReauthFrame | ReactFrame, Field(discriminator="type")
]
CLIENT_FRAME: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)

# -- server to client ------------------------------------------------------------------------------


class _ServerFrame(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReadyFrame(_ServerFrame):
    """Signed in: who you are, the socket's timings, and your rooms."""

    type: Literal["ready"]
    protocol: int = Field(description="The protocol version (edge_gateway/ws/protocol.py PROTOCOL_VERSION)")
    user_id: int
    username: str
    session_expires_at: float = Field(description="When the access token expires, in Unix seconds")
    heartbeat_seconds: float = Field(description="Send a ping at least this often")
    idle_timeout_seconds: float = Field(description="The socket closes (4009) after this long without a frame")
    rooms: list[MyRoom] = Field(
        description="Your first rooms by ascending id (at most GATEWAY_WS_READY_ROOMS); events of all of them come"
    )
    more_rooms: bool = Field(
        False, description="More rooms follow: GET /rooms?after=<the last room id here> pages through them"
    )


class CaughtUpFrame(_ServerFrame):
    """The replay of what you missed is done; live events follow."""

    type: Literal["caught_up"]


class MessageFrame(_ServerFrame):
    """A new message (yours too)."""

    type: Literal["message"]
    room_id: int
    message: Message


class MessageEditedFrame(_ServerFrame):
    """A message was edited."""

    type: Literal["message_edited"]
    room_id: int
    message: Message


class MessageDeletedFrame(_ServerFrame):
    """A message was deleted: `message` is its tombstone."""

    type: Literal["message_deleted"]
    room_id: int
    message: Message


class TypingNoticeFrame(_ServerFrame):
    """Someone is typing in a room until `expires_at`."""

    type: Literal["typing"]
    room_id: int
    user_id: int
    expires_at: Time


class PresenceFrame(_ServerFrame):
    """Someone came online or went offline."""

    type: Literal["presence"]
    room_id: int
    user_id: int
    online: bool


class MemberJoinedFrame(_ServerFrame):
    """Someone joined a room (you too: that room's events start on this socket)."""

    type: Literal["member_joined"]
    room_id: int
    user_id: int
    role: Role
    by_user_id: int | None = Field(None, description="Who added them (an invitation); null when they joined themselves")


class InvitationFrame(_ServerFrame):
    """An invitation to you was sent, accepted, declined or withdrawn (its room is not yours until accepted)."""

    type: Literal["invitation"]
    room_id: int
    state: Literal["pending", "accepted", "declined", "withdrawn"]
    invitation: Invitation


class MemberLeftFrame(_ServerFrame):
    """Someone left a room."""

    type: Literal["member_left"]
    room_id: int
    user_id: int
    role: Role
    by_user_id: int | None = Field(None, description="The owner or moderator who removed them; null when they left")


class ReadMarkerFrame(_ServerFrame):
    """Your read marker moved (on this or another tab), with what is left unread."""

    type: Literal["read_marker"]
    room_id: int
    last_read_seq: int
    unread_count: int
    mention_count: int


class RoomUpdatedFrame(_ServerFrame):
    """A room was created or changed."""

    type: Literal["room_updated"]
    room_id: int
    room: Room


class ThreadUpdatedFrame(_ServerFrame):
    """A thread root's summary changed (a reply was stored or deleted); `change` is the root's change now."""

    type: Literal["thread_updated"]
    room_id: int
    root_seq: int
    change: int
    thread: ThreadSummary


class MemberSettingsFrame(_ServerFrame):
    """Your own settings for a room changed (on this or another device)."""

    type: Literal["member_settings"]
    room_id: int
    notification_level: NotificationLevel


class ReplayStartedFrame(_ServerFrame):
    """While catching up, before a room's replayed messages: the replay skips older ones (at most
    CHAT_REPLAY_MAX_MESSAGES per room). Those after cursor_seq up to after_seq are paged with
    GET /rooms/{room_id}/messages?before=<after_seq + 1>."""

    type: Literal["replay_started"]
    room_id: int
    cursor_seq: int = Field(description="The client's cursor: it has the messages up to this seq")
    after_seq: int = Field(description="The replay sends the messages after this seq")


class SendAckFrame(_ServerFrame):
    """A send frame succeeded: the stored message."""

    type: Literal["send_ack"]
    ref: Ref | None
    message: Message
    duplicate: bool = Field(description="True when client_msg_id was used before: this is the original")


class TypingAckFrame(_ServerFrame):
    """A typing frame (with a ref) succeeded."""

    type: Literal["typing_ack"]
    ref: Ref | None
    expires_at: Time


class ReadAckFrame(_ServerFrame):
    """A read frame succeeded: your read marker and unread count in the room now."""

    type: Literal["read_ack"]
    ref: Ref | None
    room_id: int
    last_read_seq: int
    unread_count: int
    mention_count: int


class ReauthAckFrame(_ServerFrame):
    """A reauth frame succeeded: the socket now lives until the new token expires."""

    type: Literal["reauth_ack"]
    ref: Ref | None
    session_expires_at: float = Field(description="When the new access token expires, in Unix seconds")


class PongFrame(_ServerFrame):
    """The answer to a ping."""

    type: Literal["pong"]
    ref: Ref | None


class ErrorFrame(_ServerFrame):
    """A frame failed (nothing was stored); or, just before a close, why the socket closes."""

    type: Literal["error"]
    ref: Ref | None = Field(None, description="The failed frame's ref, when it had one")
    code: str = Field(description='snake_case gRPC status name, as in REST error bodies, e.g. "not_found"')
    message: str
    retry_after_ms: int | None = Field(
        None, ge=0, description="resource_exhausted by a rate limit: send the frame again after this many ms"
    )


# -- reactions and moderation (server) --


class ReactionFrame(_ServerFrame):
    """Someone added or removed a reaction: the message's reactions after it (`me` false: set your own from user_id)."""

    type: Literal["reaction"]
    room_id: int
    seq: int
    change: int = Field(description="The message's change number after this")
    user_id: int = Field(description="Who reacted")
    emoji: str
    added: bool = Field(description="True when added, false when removed")
    reactions: list[Reaction]


class RoleChangedFrame(_ServerFrame):
    """A member's role changed (a snapshot: applying it twice is harmless)."""

    type: Literal["role_changed"]
    room_id: int
    member: Member
    by_user_id: int = Field(description="Who changed it (the owner); 0 on replay")


class MessageUpdatedFrame(_ServerFrame):
    """On resume: a message's newest state (reactions, thread summary, body) for a change you missed."""

    type: Literal["message_updated"]
    room_id: int
    message: Message


class ReactAckFrame(_ServerFrame):
    """A react frame succeeded: the message with `me` set for you, and whether anything changed."""

    type: Literal["react_ack"]
    ref: Ref | None
    room_id: int
    message: Message
    changed: bool = Field(description="False when nothing changed (already there, or not there to remove)")


ServerFrame = Annotated[
    ReadyFrame
    | CaughtUpFrame
    | MessageFrame
    | MessageEditedFrame
    | MessageDeletedFrame
    | TypingNoticeFrame
    | PresenceFrame
    | MemberJoinedFrame
    | MemberLeftFrame
    | InvitationFrame
    | ReadMarkerFrame
    | RoomUpdatedFrame
    | ThreadUpdatedFrame
    | MemberSettingsFrame
    | ReplayStartedFrame
    | SendAckFrame
    | TypingAckFrame
    | ReadAckFrame
    | ReauthAckFrame
    | PongFrame
    | ErrorFrame
    | ReactionFrame
    | RoleChangedFrame
    | MessageUpdatedFrame
    | ReactAckFrame,
    Field(discriminator="type"),
]
SERVER_FRAME: TypeAdapter[ServerFrame] = TypeAdapter(ServerFrame)

# -- the OpenAPI document --------------------------------------------------------------------------

_REF_TEMPLATE = "#/components/schemas/{model}"


def add_to_openapi(document: dict[str, Any]) -> None:
    """Put ClientFrame, ServerFrame and the models they name into the document's components.schemas.

    The REST models they share (Message, Room, MyRoom) are already there under the same names.
    """
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    client = CLIENT_FRAME.json_schema(ref_template=_REF_TEMPLATE, mode="validation")  # what the gateway reads
    server = SERVER_FRAME.json_schema(ref_template=_REF_TEMPLATE, mode="serialization")  # what it writes
    for name, schema in (("ClientFrame", client), ("ServerFrame", server)):
        for model, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(model, definition)
        schemas[name] = schema
