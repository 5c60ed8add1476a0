"""Storage rows to protobuf messages: the one place that knows both shapes."""

from __future__ import annotations

from chat_svc.models import Member, Message, Room
from common.timestamps import to_timestamp
from parley.chat.v1 import chat_pb2 as pb


def room_pb(room: Room) -> pb.Room:
    """A room row as a Room message."""
    direct = [int(part) for part in room.direct_key.split(":")] if room.direct_key else []
    return pb.Room(
        id=room.id,
        kind=room.kind,  # type: ignore[arg-type]  # stored as the enum's number
        name=room.name,
        topic=room.topic,
        created_by=room.created_by,
        created_at=to_timestamp(room.created_at),
        last_seq=room.last_seq,
        last_change=room.last_change,
        member_count=room.member_count,
        direct_user_ids=direct,
    )


def member_pb(member: Member) -> pb.Member:
    """A membership row as a Member message."""
    return pb.Member(
        user_id=member.user_id,
        role=member.role,  # type: ignore[arg-type]
        joined_at=to_timestamp(member.joined_at),
    )


def message_pb(message: Message) -> pb.Message:
    """A message row as a Message; a deleted one is a tombstone without its body."""
    deleted = message.deleted_at is not None
    return pb.Message(
        room_id=message.room_id,
        seq=message.seq,
        change=message.change,
        sender_id=message.sender_id,
        client_msg_id=message.client_msg_id,
        body="" if deleted else message.body,
        created_at=to_timestamp(message.created_at),
        edited_at=to_timestamp(message.edited_at),
        deleted=deleted,
    )
