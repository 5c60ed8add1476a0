"""Protobuf messages to the JSON shapes of the browser protocol (docs/protocol.md).

One function per shape, used by the REST routes and the WebSocket frames alike, so a message
looks the same wherever it arrives. Ids and seqs are JSON numbers (all below 2^53); times are
ISO 8601 UTC strings; enums are short lower-case words.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from parley.auth.v1 import auth_pb2
from parley.chat.v1 import chat_pb2 as pb

ROOM_KINDS = {pb.ROOM_KIND_PUBLIC: "public", pb.ROOM_KIND_PRIVATE: "private", pb.ROOM_KIND_DIRECT: "direct"}
KIND_VALUES = {name: value for value, name in ROOM_KINDS.items()}
ROLES = {pb.MEMBER_ROLE_OWNER: "owner", pb.MEMBER_ROLE_MEMBER: "member", pb.MEMBER_ROLE_MODERATOR: "moderator"}
ROLE_VALUES = {name: value for value, name in ROLES.items()}
NOTIFICATION_LEVELS = {
    pb.NOTIFICATION_LEVEL_ALL: "all",
    pb.NOTIFICATION_LEVEL_MENTIONS: "mentions",
    pb.NOTIFICATION_LEVEL_NONE: "none",
}
LEVEL_VALUES = {
    **{name: value for value, name in NOTIFICATION_LEVELS.items()},
    "default": pb.NOTIFICATION_LEVEL_UNSPECIFIED,
}


def time_json(stamp: Timestamp, present: bool = True) -> str | None:
    """An ISO 8601 UTC string, or None for an unset timestamp."""
    if not present:
        return None
    return stamp.ToJsonString()


def user_json(user: auth_pb2.User) -> dict[str, Any]:
    """A user."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "created_at": time_json(user.created_at),
    }


def session_json(session: auth_pb2.Session) -> dict[str, Any]:
    """A session's tokens."""
    return {
        "access_token": session.access_token,
        "access_token_expires_at": time_json(session.access_token_expires_at),
        "refresh_token": session.refresh_token,
        "refresh_token_expires_at": time_json(session.refresh_token_expires_at),
        "session_id": session.session_id,
    }


def room_json(room: pb.Room) -> dict[str, Any]:
    """A room."""
    return {
        "id": room.id,
        "kind": ROOM_KINDS.get(room.kind, "unknown"),
        "name": room.name,
        "topic": room.topic,
        "created_by": room.created_by,
        "created_at": time_json(room.created_at),
        "last_seq": room.last_seq,
        "last_change": room.last_change,
        "member_count": room.member_count,
        "direct_user_ids": list(room.direct_user_ids),
        "room_mentions": room.room_mentions,
        "settings_change": room.settings_change,
        "last_message_at": time_json(room.last_message_at, room.HasField("last_message_at")),
        "archived_at": time_json(room.archived_at, room.HasField("archived_at")),  # -- operators --
    }


def invitation_json(invitation: pb.Invitation) -> dict[str, Any]:
    """An invitation."""
    return {
        "room": room_json(invitation.room),
        "user_id": invitation.user_id,
        "inviter_id": invitation.inviter_id,
        "created_at": time_json(invitation.created_at),
    }


INVITATION_STATES = {
    pb.INVITATION_STATE_PENDING: "pending",
    pb.INVITATION_STATE_ACCEPTED: "accepted",
    pb.INVITATION_STATE_DECLINED: "declined",
    pb.INVITATION_STATE_WITHDRAWN: "withdrawn",
}


def my_room_json(entry: pb.MyRoom) -> dict[str, Any]:
    """A room with the caller's read marker and unread count."""
    return {
        "room": room_json(entry.room),
        "last_read_seq": entry.last_read_seq,
        "unread_count": entry.unread_count,
        "role": ROLES.get(entry.role, "member"),
        "mention_count": entry.mention_count,
        "notification_level": NOTIFICATION_LEVELS.get(entry.notification_level, "mentions"),
    }


def member_json(member: pb.Member) -> dict[str, Any]:
    """A member of a room."""
    return {
        "user_id": member.user_id,
        "role": ROLES.get(member.role, "member"),
        "joined_at": time_json(member.joined_at),
        "role_change": member.role_change,
    }


def message_json(message: pb.Message) -> dict[str, Any]:
    """A message (a tombstone when deleted)."""
    return {
        "room_id": message.room_id,
        "seq": message.seq,
        "change": message.change,
        "sender_id": message.sender_id,
        "client_msg_id": message.client_msg_id,
        "body": message.body,
        "created_at": time_json(message.created_at),
        "edited_at": time_json(message.edited_at, message.HasField("edited_at")),
        "deleted": message.deleted,
        "thread_root_seq": message.thread_root_seq,
        "also_in_room": message.also_in_room,
        "thread": thread_json(message.thread) if message.HasField("thread") else None,
        "deleted_by": message.deleted_by or None,
        "taken_down": message.taken_down,  # -- operators --
        "mentioned_user_ids": list(message.mentioned_user_ids),
        "mentions_room": message.mentions_room,
        "reactions": reactions_json(message.reactions),  # -- reactions --
        "files": [file_json(file) for file in message.files] if message.files else [],  # -- files --
    }


def file_json(file: pb.File) -> dict[str, Any]:
    """A file's metadata."""
    return {
        "id": file.id,
        "room_id": file.room_id,
        "uploader_id": file.uploader_id,
        "name": file.name,
        "size": file.size,
        "content_type": file.content_type,
        "sha256": file.sha256,
        "width": file.width,
        "height": file.height,
        "has_thumbnail": file.has_thumbnail,
        "created_at": time_json(file.created_at),
    }


def thread_json(thread: pb.ThreadSummary) -> dict[str, Any]:
    """A thread root's summary."""
    return {
        "reply_count": thread.reply_count,
        "last_reply_seq": thread.last_reply_seq,
        "last_reply_at": time_json(thread.last_reply_at, thread.HasField("last_reply_at")),
        "participant_ids": list(thread.participant_ids),
    }


# -- reactions and moderation ----------------------------------------------------------------------


def reactions_json(reactions: Iterable[pb.Reaction]) -> list[dict[str, Any]]:
    """A message's reactions by emoji; `me` is only ever true in answers to one user."""
    return [{"emoji": r.emoji, "count": r.count, "user_ids": list(r.user_ids), "me": r.me} for r in reactions]


# -- search ----------------------------------------------------------------------------------------


def search_json(reply: pb.SearchMessagesResponse) -> dict[str, Any]:
    """A page of search hits."""
    return {
        "hits": [
            {"message": message_json(hit.message), "highlights": [[r.start, r.end] for r in hit.highlights]}
            for hit in reply.hits
        ],
        "next_page_token": reply.next_page_token or None,
    }
