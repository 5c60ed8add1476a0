"""The WebSocket protocol, version 2: parsing client frames, building server frames, close codes. No I/O here.

Every frame is one JSON object with a "type". The client authenticates with its first frame (so the
token never appears in a URL or a log), optionally with resume cursors; see docs/protocol.md. The
frames' models are in edge_gateway/ws/frames.py; server frames are built here as dicts, encoded
once per event whatever the number of recipients.

Version 2 gave each kind of ack its own type (send_ack, typing_ack, read_ack, reauth_ack), where
version 1 sent "ack" for all of them.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError

from edge_gateway.convert import (
    INVITATION_STATES,
    NOTIFICATION_LEVELS,
    ROLES,
    invitation_json,
    member_json,
    message_json,
    reactions_json,
    room_json,
    thread_json,
)
from edge_gateway.ws.frames import CLIENT_FRAME, REF_MAX, ClientFrame
from parley.chat.v1 import chat_pb2 as pb

PROTOCOL_VERSION = 2

# Close codes (RFC 6455 private range 4000-4999 for ours).
CLOSE_GOING_AWAY = 1001  # server shutting down: reconnect (to another gateway) and resume
CLOSE_INTERNAL = 1011  # a bug on our side: reconnect and resume
CLOSE_TRY_AGAIN = 1013  # a backend service is unavailable: reconnect with backoff and resume
CLOSE_UNAUTHENTICATED = 4001  # no, malformed or invalid auth frame, or it came too late: sign in again
CLOSE_TOKEN_EXPIRED = 4003  # the access token expired: refresh it, reconnect, resume
CLOSE_REVOKED = 4004  # the session was signed out: sign in again
CLOSE_DISABLED = 4005  # an operator disabled the account: do not reconnect
CLOSE_TOO_SLOW = 4008  # the client did not read fast enough: reconnect and resume
CLOSE_IDLE = 4009  # nothing received for too long: reconnect when needed
CLOSE_TOO_MANY = 4029  # too many sockets (of the user, or unauthenticated from the address), or opened too fast


class ProtocolError(Exception):
    """A frame the server cannot act on; answered with an error frame, the connection stays."""

    def __init__(self, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.ref = ref


FRAME_TYPES = ("auth", "send", "typing", "read", "ping", "reauth", "react")


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
    ref = raw.get("ref")
    ref = ref if isinstance(ref, str) and len(ref) <= REF_MAX else None  # never echo what the frame may not hold
    if raw.get("type") not in FRAME_TYPES:
        raise ProtocolError(f"unknown frame type {raw.get('type')!r}; expected one of {', '.join(FRAME_TYPES)}", ref)
    try:
        return CLIENT_FRAME.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"][1:])
        raise ProtocolError(f"{raw['type']} frame: {where}: {first['msg']}", ref) from None


def encode(frame: dict[str, Any]) -> str:
    """A frame as JSON text."""
    return orjson.dumps(frame).decode()


def error_frame(code: str, message: str, ref: str | None = None, retry_after_ms: int | None = None) -> dict[str, Any]:
    """An error about one frame; the connection stays open. A rate limit's says when to send it again."""
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if ref is not None:
        frame["ref"] = ref
    if retry_after_ms is not None:
        frame["retry_after_ms"] = retry_after_ms
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
            "by_user_id": membership.by_user_id or None,
        }
    if kind == "read_marker":
        marker = event.read_marker
        return {
            "type": "read_marker",
            "room_id": room_id,
            "last_read_seq": marker.last_read_seq,
            "unread_count": marker.unread_count,
            "mention_count": marker.mention_count,
        }
    if kind == "room_updated":
        return {"type": "room_updated", "room_id": room_id, "room": room_json(event.room_updated)}
    if kind == "thread_updated":
        update = event.thread_updated
        return {
            "type": "thread_updated",
            "room_id": room_id,
            "root_seq": update.root_seq,
            "change": update.change,
            "thread": thread_json(update.thread),
        }
    if kind == "member_settings":
        level = NOTIFICATION_LEVELS.get(event.member_settings.notification_level, "mentions")
        return {"type": "member_settings", "room_id": room_id, "notification_level": level}
    return _moderation_frame(kind, event)


# -- reactions and moderation ----------------------------------------------------------------------


def _moderation_frame(kind: str | None, event: pb.Event) -> dict[str, Any] | None:
    room_id = event.room_id
    if kind == "reaction_changed":
        changed = event.reaction_changed
        return {
            "type": "reaction",
            "room_id": room_id,
            "seq": changed.seq,
            "change": changed.change,
            "user_id": changed.user_id,
            "emoji": changed.emoji,
            "added": changed.added,
            "reactions": reactions_json(changed.reactions),
        }
    if kind == "role_changed":
        role = event.role_changed
        return {
            "type": "role_changed",
            "room_id": room_id,
            "member": member_json(role.member),
            "by_user_id": role.by_user_id,
        }
    if kind == "message_updated":
        return {"type": "message_updated", "room_id": room_id, "message": message_json(event.message_updated)}
    if kind == "invitation_changed":
        news = event.invitation_changed
        return {
            "type": "invitation",
            "room_id": room_id,
            "state": INVITATION_STATES.get(news.state, "withdrawn"),
            "invitation": invitation_json(news.invitation),
        }
    if kind == "replay_started":  # the replay cap, not moderation; here to keep event_frame short
        start = event.replay_started
        return {
            "type": "replay_started",
            "room_id": room_id,
            "cursor_seq": start.cursor_seq,
            "after_seq": start.after_seq,
        }
    return None


def react_ack(ref: str | None, room_id: int, reacted: pb.ReactResponse) -> dict[str, Any]:
    """A reaction was added or removed (or already was: changed false)."""
    return {
        "type": "react_ack",
        "ref": ref,
        "room_id": room_id,
        "message": message_json(reacted.message),
        "changed": reacted.changed,
    }


def event_position(event: pb.Event) -> tuple[int, int]:
    """(seq, change) an event moves its room to: seq only for new messages, 0 where it does not apply."""
    kind = event.WhichOneof("kind")
    if kind == "message_created":
        return event.message_created.seq, event.message_created.change
    if kind == "message_edited":
        return 0, event.message_edited.change
    if kind == "message_deleted":
        return 0, event.message_deleted.change
    if kind == "thread_updated":
        return 0, event.thread_updated.change
    # reactions and moderation; room_updated and role_changed are snapshots: (0, 0), never deduped
    if kind == "reaction_changed":
        return 0, event.reaction_changed.change
    if kind == "message_updated":
        return 0, event.message_updated.change
    return 0, 0


def presence_frame(room_id: int, user_id: int, online: bool) -> dict[str, Any]:
    """Someone came online or went offline in a room."""
    return {"type": "presence", "room_id": room_id, "user_id": user_id, "online": online}


# -- answers to one client frame: each kind has its own type (version 1 called them all "ack") --------


def send_ack(ref: str | None, message: pb.Message, duplicate: bool) -> dict[str, Any]:
    """A send was stored (or was a retry of a stored one: duplicate)."""
    return {"type": "send_ack", "ref": ref, "message": message_json(message), "duplicate": duplicate}


def typing_ack(ref: str | None, typing: pb.SendTypingResponse) -> dict[str, Any]:
    """A typing notice went out; it lapses at expires_at."""
    return {"type": "typing_ack", "ref": ref, "expires_at": typing.expires_at.ToJsonString()}


def read_ack(ref: str | None, room_id: int, read: pb.MarkReadResponse) -> dict[str, Any]:
    """The read marker moved."""
    return {
        "type": "read_ack",
        "ref": ref,
        "room_id": room_id,
        "last_read_seq": read.last_read_seq,
        "unread_count": read.unread_count,
        "mention_count": read.mention_count,
    }


def reauth_ack(ref: str | None, session_expires_at: float) -> dict[str, Any]:
    """The socket now lives until the new token expires."""
    return {"type": "reauth_ack", "ref": ref, "session_expires_at": session_expires_at}


def pong(ref: str | None) -> dict[str, Any]:
    """The answer to a ping."""
    return {"type": "pong", "ref": ref}
