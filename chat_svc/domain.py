"""What chat_svc's service layer takes and returns: plain frozen values, no ORM rows, no protobuf.

convert.py turns them into protobuf messages and events; repository.py makes them from rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import NamedTuple

from common.errors import ServiceError


class RoomKind(IntEnum):
    """parley.chat.v1.RoomKind by number (rooms.kind stores the number)."""

    PUBLIC = 1
    PRIVATE = 2
    DIRECT = 3


class MemberRole(IntEnum):
    """parley.chat.v1.MemberRole by number (members.role stores the number)."""

    OWNER = 1
    MEMBER = 2
    MODERATOR = 3


class NotificationLevel(IntEnum):
    """parley.chat.v1.NotificationLevel by number (members.notification_level stores it; 0: the default)."""

    DEFAULT = 0
    ALL = 1
    MENTIONS = 2
    NONE = 3


@dataclass(frozen=True, slots=True)
class Room:
    """A room as its members see it."""

    id: int
    kind: int
    name: str
    topic: str
    created_by: int
    created_at: datetime
    last_seq: int
    last_change: int
    member_count: int
    direct_user_ids: tuple[int, ...] = ()  # the two users of a direct room, ascending
    room_mentions: bool = False  # whether @room mentions every member
    settings_change: int = 0  # change of the last UpdateRoom / RemoveMember
    last_message_at: datetime | None = None  # None: no message yet
    archived_at: datetime | None = None  # None: not archived (an archived room is read-only)


@dataclass(frozen=True, slots=True)
class RoomOverview:
    """A room as an operator sees it (ModerationService)."""

    room: Room
    owner_id: int = 0  # 0: none (direct rooms, or the owner left)


@dataclass(frozen=True, slots=True)
class Member:
    """A user's membership of a room."""

    user_id: int
    role: int
    joined_at: datetime
    role_change: int = 0  # change of the last role change


@dataclass(frozen=True, slots=True)
class Invitation:
    """A pending invitation to a room."""

    room: Room
    user_id: int  # the invitee
    inviter_id: int
    created_at: datetime


class InvitationState(IntEnum):
    """parley.chat.v1.InvitationState by number: what became of an invitation."""

    PENDING = 1
    ACCEPTED = 2
    DECLINED = 3
    WITHDRAWN = 4


@dataclass(frozen=True, slots=True)
class Blocked:
    """A user someone blocked, and since when."""

    user_id: int
    blocked_at: datetime


@dataclass(frozen=True, slots=True)
class MyRoom:
    """One of the caller's rooms, with where the caller has read up to."""

    room: Room
    last_read_seq: int
    unread_count: int
    role: int
    mention_count: int = 0
    notification_level: int = NotificationLevel.MENTIONS  # resolved: never DEFAULT


@dataclass(frozen=True, slots=True)
class ThreadSummary:
    """What a thread's root shows of its replies."""

    reply_count: int
    last_reply_seq: int
    last_reply_at: datetime | None
    participant_ids: tuple[int, ...]  # up to 5, the most recent first


@dataclass(frozen=True, slots=True)
class Reaction:
    """One emoji's reactions to a message; `me` only where one user asks."""

    emoji: str
    count: int
    user_ids: tuple[int, ...]  # the first 10 who reacted, in order
    me: bool = False


@dataclass(frozen=True, slots=True)
class File:
    """A file uploaded into a room (its bytes are in the blob store under its id)."""

    id: str
    room_id: int
    uploader_id: int
    name: str
    size: int
    content_type: str
    sha256: str
    created_at: datetime
    width: int = 0
    height: int = 0
    thumbnail_size: int = 0  # 0: no thumbnail
    thumbnail_type: str = ""
    message_seq: int | None = None  # the message attaching it; None: not yet


@dataclass(frozen=True, slots=True)
class Message:
    """A stored message; a deleted one is a tombstone with an empty body, no reactions, no mentions."""

    room_id: int
    seq: int
    change: int
    sender_id: int
    client_msg_id: str
    body: str
    created_at: datetime
    edited_at: datetime | None = None
    deleted: bool = False
    thread_root_seq: int = 0  # a reply's root; 0 in the main timeline
    also_in_room: bool = False
    thread: ThreadSummary | None = None  # a root with replies
    reactions: tuple[Reaction, ...] = ()
    deleted_by: int = 0
    mentioned_user_ids: tuple[int, ...] = ()  # members mentioned by @username, ascending
    mentions_room: bool = False
    # -- files: file_count is what the row says (0: nothing to look up); files, once looked up
    file_count: int = 0
    files: tuple[File, ...] = ()
    taken_down: bool = False  # a tombstone an operator made (deleted_by is then 0)


@dataclass(frozen=True, slots=True)
class Send:
    """One validated send (messages.Messages.checked makes them), waiting to be stored."""

    user_id: int
    room_id: int
    client_msg_id: str
    body: str
    thread_root_seq: int = 0
    also_in_room: bool = False
    mentioned_user_ids: tuple[int, ...] = ()  # users named by @username (members or not: store() keeps members)
    mentions_room: bool = False  # the body says @room (store() keeps it where the room allows it)
    file_ids: tuple[str, ...] = ()  # files to attach, in order (uploaded by the sender into this room)


class Sent(NamedTuple):
    """A stored message, or the original one found again for a repeated client_msg_id."""

    message: Message
    duplicate: bool


# What one send of a batch comes to: its message, or why this one send failed.
SendResult = Sent | ServiceError


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a stream resumes in one room: after this seq, and after this change for edits/deletes."""

    room_id: int
    after_seq: int = 0
    after_change: int = 0


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks, for the checks that ask auth_svc on their behalf (with their own token)."""

    user_id: int
    token: str
    deadline: float  # time.monotonic() by which calls to other services must be answered

    def timeout(self) -> float:
        """Seconds left for a call to another service."""
        return max(0.0, self.deadline - time.monotonic())
