"""Domain values to protobuf messages and events, and requests' cursors back: the one place that knows both."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from chat_svc import rules
from chat_svc.domain import (
    Blocked,
    Cursor,
    File,
    Invitation,
    InvitationState,
    Member,
    Message,
    MyRoom,
    Reaction,
    Room,
    RoomOverview,
    SendResult,
    ThreadSummary,
)
from chat_svc.repository import Wanted
from chat_svc.search import Hit
from chat_svc.threads import ThreadChange
from common.errors import InvalidArgument, ServiceError
from common.grpc_errors import status_for
from common.timestamps import to_timestamp
from parley.chat.v1 import chat_pb2 as pb, moderation_pb2


@functools.lru_cache(maxsize=4096)
def _stamp(value: datetime) -> Timestamp:
    # The messages of a batch share one created_at, and each is converted twice (its event and
    # its sender's answer): convert the time once; it cost more than the rest of the message. The
    # cached Timestamp is never changed: a message field set from it takes a copy.
    return to_timestamp(value)  # type: ignore[return-value]  # never None for a datetime


def _timestamp(value: datetime | None) -> Timestamp | None:
    return None if value is None else _stamp(value)


def room_pb(room: Room) -> pb.Room:
    """A Room message."""
    return pb.Room(
        id=room.id,
        kind=room.kind,  # type: ignore[arg-type]  # the enum's number
        name=room.name,
        topic=room.topic,
        created_by=room.created_by,
        created_at=_timestamp(room.created_at),
        last_seq=room.last_seq,
        last_change=room.last_change,
        member_count=room.member_count,
        direct_user_ids=room.direct_user_ids,
        room_mentions=room.room_mentions,
        settings_change=room.settings_change,
        last_message_at=_timestamp(room.last_message_at),
        archived_at=_timestamp(room.archived_at),
    )


def member_pb(member: Member) -> pb.Member:
    """A Member message."""
    return pb.Member(
        user_id=member.user_id,
        role=member.role,  # type: ignore[arg-type]
        joined_at=_timestamp(member.joined_at),
        role_change=member.role_change,
    )


def invitation_pb(invitation: Invitation) -> pb.Invitation:
    """An Invitation message."""
    return pb.Invitation(
        room=room_pb(invitation.room),
        user_id=invitation.user_id,
        inviter_id=invitation.inviter_id,
        created_at=_timestamp(invitation.created_at),
    )


def blocked_pb(blocked: Blocked) -> pb.BlockedUser:
    """A BlockedUser message."""
    return pb.BlockedUser(user_id=blocked.user_id, blocked_at=_timestamp(blocked.blocked_at))


def my_room_pb(mine: MyRoom) -> pb.MyRoom:
    """A MyRoom message."""
    return pb.MyRoom(
        room=room_pb(mine.room),
        last_read_seq=mine.last_read_seq,
        unread_count=mine.unread_count,
        role=mine.role,  # type: ignore[arg-type]
        mention_count=mine.mention_count,
        notification_level=mine.notification_level,  # type: ignore[arg-type]
    )


def message_pb(message: Message) -> pb.Message:
    """A Message message."""
    built = pb.Message(
        room_id=message.room_id,
        seq=message.seq,
        change=message.change,
        sender_id=message.sender_id,
        client_msg_id=message.client_msg_id,
        body=message.body,
        created_at=_timestamp(message.created_at),
        edited_at=_timestamp(message.edited_at),
        deleted=message.deleted,
    )
    # -- threads and mentions: set only when present, so that the common message costs no more --
    if message.thread_root_seq:
        built.thread_root_seq, built.also_in_room = message.thread_root_seq, message.also_in_room
    if message.thread is not None:
        built.thread.CopyFrom(thread_pb(message.thread))
    if message.deleted_by:
        built.deleted_by = message.deleted_by
    if message.taken_down:
        built.taken_down = True
    if message.mentioned_user_ids:
        built.mentioned_user_ids.extend(message.mentioned_user_ids)
    if message.mentions_room:
        built.mentions_room = True
    if message.reactions:  # -- reactions and moderation --
        built.reactions.extend(reactions_pb(message.reactions))
    if message.files:  # -- files --
        built.files.extend(file_pb(file) for file in message.files)
    return built


def file_pb(file: File) -> pb.File:
    """A File message."""
    return pb.File(
        id=file.id,
        room_id=file.room_id,
        uploader_id=file.uploader_id,
        name=file.name,
        size=file.size,
        content_type=file.content_type,
        sha256=file.sha256,
        width=file.width,
        height=file.height,
        has_thumbnail=file.thumbnail_size > 0,
        created_at=_timestamp(file.created_at),
    )


def thread_pb(summary: ThreadSummary) -> pb.ThreadSummary:
    """A ThreadSummary message."""
    return pb.ThreadSummary(
        reply_count=summary.reply_count,
        last_reply_seq=summary.last_reply_seq,
        last_reply_at=_timestamp(summary.last_reply_at),
        participant_ids=summary.participant_ids,
    )


def outcome_pb(ref: int, result: SendResult) -> pb.SendOutcome:
    """The answer to one send of a SendMessages stream: its message, or its error's code and text."""
    if isinstance(result, ServiceError):
        return pb.SendOutcome(
            ref=ref, error_code=status_for(result).value[0], error_message=result.message, error_reason=result.reason
        )
    return pb.SendOutcome(
        ref=ref, sent=pb.SendMessageResponse(message=message_pb(result.message), duplicate=result.duplicate)
    )


def cursors(requested: Iterable[pb.RoomCursor]) -> list[Cursor]:
    """A StreamEvents request's cursors: one more than allowed at most, enough for streams.py to refuse."""
    return [Cursor(c.room_id, c.after_seq, c.after_change) for c in itertools.islice(requested, rules.MAX_CURSORS + 1)]


# -- events (the hub and the broker carry pb.Event) ------------------------------------------------


def created_event(message: Message) -> pb.Event:
    """A new message (or one sent again: downstream drops repeats by seq)."""
    return pb.Event(room_id=message.room_id, message_created=message_pb(message))


def replay_start_event(room_id: int, cursor_seq: int, after_seq: int) -> pb.Event:
    """A room's replay skips the messages in (cursor_seq, after_seq]: the cap per room."""
    return pb.Event(room_id=room_id, replay_started=pb.ReplayStart(cursor_seq=cursor_seq, after_seq=after_seq))


def changed_event(message: Message) -> pb.Event:
    """An edited message, or a deleted one's tombstone."""
    if message.deleted:
        return pb.Event(room_id=message.room_id, message_deleted=message_pb(message))
    return pb.Event(room_id=message.room_id, message_edited=message_pb(message))


def member_event(room_id: int, user_id: int, role: int, joined: bool, by_user_id: int = 0) -> pb.Event:
    """A user joined (or was added to) a room, or left it (or was removed: by_user_id did it)."""
    membership = pb.Membership(user_id=user_id, role=role, by_user_id=by_user_id)  # type: ignore[arg-type]
    if joined:
        return pb.Event(room_id=room_id, member_joined=membership)
    return pb.Event(room_id=room_id, member_left=membership)


def invitation_event(invitation: Invitation, state: InvitationState) -> pb.Event:
    """An invitation's news (only the invitee's streams get it)."""
    changed = pb.InvitationChanged(invitation=invitation_pb(invitation), state=state.value)  # type: ignore[arg-type]
    return pb.Event(room_id=invitation.room.id, invitation_changed=changed)


def room_event(room: Room) -> pb.Event:
    """A room's new state."""
    return pb.Event(room_id=room.id, room_updated=room_pb(room))


def read_event(
    room_id: int, user_id: int, last_read_seq: int, unread_count: int = 0, mention_count: int = 0
) -> pb.Event:
    """A member's read marker moved, with what is left unread (only that member's streams get it)."""
    marker = pb.ReadMarker(
        user_id=user_id, last_read_seq=last_read_seq, unread_count=unread_count, mention_count=mention_count
    )
    return pb.Event(room_id=room_id, read_marker=marker)


def typing_event(room_id: int, user_id: int, expires_at: datetime) -> pb.Event:
    """A member is typing, until expires_at."""
    return pb.Event(room_id=room_id, typing=pb.Typing(user_id=user_id, expires_at=_timestamp(expires_at)))


def thread_event(change: ThreadChange) -> pb.Event:
    """A thread root's summary changed."""
    updated = pb.ThreadUpdated(root_seq=change.root_seq, change=change.change, thread=thread_pb(change.summary))
    return pb.Event(room_id=change.room_id, thread_updated=updated)


def member_settings_event(room_id: int, user_id: int, notification_level: int) -> pb.Event:
    """A member's own settings for a room (only that member's streams get it)."""
    settings = pb.MemberSettings(user_id=user_id, notification_level=notification_level)  # type: ignore[arg-type]
    return pb.Event(room_id=room_id, member_settings=settings)


# -- reactions and moderation ----------------------------------------------------------------------


def reactions_pb(reactions: Iterable[Reaction]) -> list[pb.Reaction]:
    """A message's reactions."""
    return [pb.Reaction(emoji=r.emoji, count=r.count, user_ids=r.user_ids, me=r.me) for r in reactions]


def reaction_event(message: Message, user_id: int, emoji: str, added: bool) -> pb.Event:
    """A user's reaction was added or removed; the aggregate without `me` (every socket shares it)."""
    changed = pb.ReactionChanged(
        seq=message.seq,
        change=message.change,
        user_id=user_id,
        emoji=emoji,
        added=added,
        reactions=[pb.Reaction(emoji=r.emoji, count=r.count, user_ids=r.user_ids) for r in message.reactions],
    )
    return pb.Event(room_id=message.room_id, reaction_changed=changed)


def role_event(room_id: int, member: Member, by_user_id: int) -> pb.Event:
    """A member's role changed."""
    return pb.Event(room_id=room_id, role_changed=pb.RoleChanged(member=member_pb(member), by_user_id=by_user_id))


def updated_event(message: Message) -> pb.Event:
    """Replay: a message's newest state (message_updated), or its tombstone (message_deleted)."""
    if message.deleted:
        return pb.Event(room_id=message.room_id, message_deleted=message_pb(message))
    return pb.Event(room_id=message.room_id, message_updated=message_pb(message))


# -- search ----------------------------------------------------------------------------------------


def wanted(request: pb.SearchMessagesRequest, user_id: int) -> Wanted:
    """Which messages a SearchMessages request reads."""
    since = _time_of(request.since, "since") if request.HasField("since") else None
    until = _time_of(request.until, "until") if request.HasField("until") else None
    return Wanted(user_id, request.room_id, request.sender_id, since, until)


def _time_of(stamp: Timestamp, field: str) -> datetime:
    """A Timestamp as a naive-UTC datetime at microsecond precision, or InvalidArgument."""
    try:
        return stamp.ToDatetime()
    except (ValueError, OverflowError):
        raise InvalidArgument(f"{field} is not a valid time") from None


def hit_pb(hit: Hit) -> pb.SearchHit:
    """A SearchHit message."""
    ranges = [pb.TextRange(start=start, end=end) for start, end in hit.highlights]
    return pb.SearchHit(message=message_pb(hit.message), highlights=ranges)


# -- operators (ModerationService) -----------------------------------------------------------------


def overview_pb(overview: RoomOverview) -> moderation_pb2.RoomOverview:
    """A RoomOverview message."""
    return moderation_pb2.RoomOverview(
        room=room_pb(overview.room),
        archived_at=_timestamp(overview.room.archived_at),
        owner_id=overview.owner_id,
    )
