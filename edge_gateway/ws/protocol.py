"""The WebSocket protocol, version 1: frames in and out, close codes. No I/O here.

Every frame is one JSON object with a "type". The client authenticates with its first frame (so the
token never appears in a URL or a log), optionally with resume cursors; see docs/protocol.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from edge_gateway.convert import ROLES, message_json, room_json
from parley.chat.v1 import chat_pb2 as pb

PROTOCOL_VERSION = 1

# Close codes (RFC 6455 private range 4000-4999 for ours).
CLOSE_GOING_AWAY = 1001  # server shutting down: reconnect (to another gateway) and resume
CLOSE_INTERNAL = 1011  # a bug on our side: reconnect and resume
CLOSE_TRY_AGAIN = 1013  # a backend service is unavailable: reconnect with backoff and resume
CLOSE_UNAUTHENTICATED = 4001  # no, malformed or invalid auth frame, or it came too late: sign in again
CLOSE_TOKEN_EXPIRED = 4003  # the access token expired: refresh it, reconnect, resume
CLOSE_REVOKED = 4004  # the session was signed out: sign in again
CLOSE_TOO_SLOW = 4008  # the client did not read fast enough: reconnect and resume
CLOSE_IDLE = 4009  # nothing received for too long: reconnect when needed


class ProtocolError(Exception):
    """A frame the server cannot act on; answered with an error frame, the connection stays."""

    def __init__(self, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.ref = ref


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: str | None = Field(None, max_length=64, description="Echoed in the ack or error for this frame")


class Cursor(BaseModel):
    """Where the client is in one room."""

    model_config = ConfigDict(extra="forbid")
    room_id: int = Field(gt=0)
    after_seq: int = Field(0, ge=0)
    after_change: int = Field(0, ge=0)


class AuthFrame(_Frame):
    """First frame: the access token and, after a reconnect, where to resume."""

    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=4096)
    cursors: list[Cursor] = Field(default_factory=list, max_length=10_000)


class SendFrame(_Frame):
    """Post a message; acked with its seq."""

    type: Literal["send"]
    room_id: int = Field(gt=0)
    client_msg_id: str = Field(min_length=1, max_length=64)
    body: str


class TypingFrame(_Frame):
    """The user is typing in a room."""

    type: Literal["typing"]
    room_id: int = Field(gt=0)


class ReadFrame(_Frame):
    """Move the read marker."""

    type: Literal["read"]
    room_id: int = Field(gt=0)
    seq: int = Field(ge=0)


class PingFrame(_Frame):
    """Keep-alive; answered with pong."""

    type: Literal["ping"]


class ReauthFrame(_Frame):
    """Swap in a refreshed access token of the same user before the old one expires."""

    type: Literal["reauth"]
    token: str = Field(min_length=1, max_length=4096)


ClientFrame = Annotated[
    AuthFrame | SendFrame | TypingFrame | ReadFrame | PingFrame | ReauthFrame, Field(discriminator="type")
]
_client_frame: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
FRAME_TYPES = ("auth", "send", "typing", "read", "ping", "reauth")


def parse(data: str | bytes, max_bytes: int) -> ClientFrame:
    """The frame in data, or ProtocolError with a message a developer can act on."""
    size = len(data.encode() if isinstance(data, str) else data)
    if size > max_bytes:
        raise ProtocolError(f"frame is {size} bytes; the limit is {max_bytes}")
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"frame is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ProtocolError("a frame must be a JSON object with a 'type'")
    ref = raw.get("ref") if isinstance(raw.get("ref"), str) else None
    if raw.get("type") not in FRAME_TYPES:
        raise ProtocolError(f"unknown frame type {raw.get('type')!r}; expected one of {', '.join(FRAME_TYPES)}", ref)
    try:
        return _client_frame.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"][1:])
        raise ProtocolError(f"{raw['type']} frame: {where}: {first['msg']}", ref) from None


def encode(frame: dict[str, Any]) -> str:
    """A frame as JSON text."""
    return orjson.dumps(frame).decode()


def error_frame(code: str, message: str, ref: str | None = None) -> dict[str, Any]:
    """An error about one frame; the connection stays open."""
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if ref is not None:
        frame["ref"] = ref
    return frame


def event_frame(event: pb.Event) -> dict[str, Any] | None:
    """The frame for one of chat_svc's events (None for kinds browsers do not get)."""
    kind = event.WhichOneof("kind")
    room_id = event.room_id
    if kind == "message_created":
        return {"type": "message", "room_id": room_id, "message": message_json(event.message_created)}
    if kind == "message_edited":
        return {"type": "message_edited", "room_id": room_id, "message": message_json(event.message_edited)}
    if kind == "message_deleted":
        return {"type": "message_deleted", "room_id": room_id, "message": message_json(event.message_deleted)}
    if kind == "typing":
        return {
            "type": "typing",
            "room_id": room_id,
            "user_id": event.typing.user_id,
            "expires_at": event.typing.expires_at.ToJsonString(),
        }
    if kind in ("member_joined", "member_left"):
        membership = event.member_joined if kind == "member_joined" else event.member_left
        return {
            "type": kind,
            "room_id": room_id,
            "user_id": membership.user_id,
            "role": ROLES.get(membership.role, "member"),
        }
    if kind == "read_marker":
        return {"type": "read_marker", "room_id": room_id, "last_read_seq": event.read_marker.last_read_seq}
    if kind == "room_updated":
        return {"type": "room_updated", "room_id": room_id, "room": room_json(event.room_updated)}
    return None


def event_position(event: pb.Event) -> tuple[int, int]:
    """(seq, change) an event moves its room to: seq only for new messages, 0 where it does not apply."""
    kind = event.WhichOneof("kind")
    if kind == "message_created":
        return event.message_created.seq, event.message_created.change
    if kind == "message_edited":
        return 0, event.message_edited.change
    if kind == "message_deleted":
        return 0, event.message_deleted.change
    return 0, 0


def presence_frame(room_id: int, user_id: int, online: bool) -> dict[str, Any]:
    """Someone came online or went offline in a room."""
    return {"type": "presence", "room_id": room_id, "user_id": user_id, "online": online}
