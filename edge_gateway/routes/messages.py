"""Messages of a room: history, send, edit, delete, read marker, typing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError

from edge_gateway import convert, rules
from edge_gateway.deps import BackendsDep, CallerDep
from edge_gateway.schemas import (
    INT64_FORMAT,
    INT64_MAX,
    ROOM_ARCHIVED,
    EditMessageBody,
    MarkReadBody,
    MessagePage,
    OneMessage,
    Reacted,
    ReadMarker,
    SendMessageBody,
    SentMessage,
    Seq,
    TypingNotice,
    error_responses,
)
from parley.chat.v1 import chat_pb2 as pb

router = APIRouter(
    prefix="/rooms/{room_id}", tags=["messages"], responses=error_responses(400, 401, 403, 404, 422, 500, 503, 504)
)

RoomId = Annotated[int, Path(gt=0, le=INT64_MAX, description="A room id", json_schema_extra=INT64_FORMAT)]
MessageSeq = Annotated[int, Path(gt=0, le=INT64_MAX, description="The message's seq", json_schema_extra=INT64_FORMAT)]
Cursor = Seq | None


@router.get("/messages", response_model=MessagePage, summary="A page of history")
async def history(
    room_id: RoomId,
    backends: BackendsDep,
    caller: CallerDep,
    before: Annotated[Cursor, Query(description="Messages older than this seq (scrolling up); not with after")] = None,
    after: Annotated[Cursor, Query(description="Messages newer than this seq (catching up); not with before")] = None,
    limit: Annotated[int, Query(ge=0, le=rules.PAGE_MAX, description="Page size (0 = the default, 50)")] = 0,
    thread: Annotated[
        int,
        Query(
            ge=0,
            le=INT64_MAX,
            description="A root's seq: that thread (the root, then its replies); 0 = the main timeline",
            json_schema_extra=INT64_FORMAT,
        ),
    ] = 0,
) -> dict[str, Any]:
    """Ascending seq, tombstones included. No cursor: the newest page. `before` and `after` exclude each other.

    The main timeline holds the messages that are not replies and the replies also sent to the room;
    `thread` reads one thread instead (404 when the room has no message with that seq).
    """
    if before is not None and after is not None:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", "after"), "msg": "pass either before or after, not both"}]
        )
    if after is not None:
        anchor, direction = after, pb.DIRECTION_FORWARD
    else:
        anchor, direction = before or 0, pb.DIRECTION_BACKWARD
    reply = await backends.chat.ListMessages(
        pb.ListMessagesRequest(
            room_id=room_id, anchor_seq=anchor, direction=direction, limit=limit, thread_root_seq=thread
        ),
        metadata=caller.metadata,
        timeout=backends.timeout,
    )
    return {"messages": [convert.message_json(message) for message in reply.messages], "has_more": reply.has_more}


@router.post(
    "/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=SentMessage,
    summary="Post a message",
    responses={
        status.HTTP_200_OK: {"model": SentMessage, "description": "A retry: the original message"},
        **error_responses(429),
        **ROOM_ARCHIVED,
    },
)
async def send(
    room_id: RoomId, body: SendMessageBody, backends: BackendsDep, caller: CallerDep, response: Response
) -> dict[str, Any]:
    """201 with the stored message; a retry with the same client_msg_id answers 200 with the original.

    With `thread_root_seq`, a reply in that message's thread (404 when the room has no such message).
    With `file_ids`, the files uploaded for it (POST /rooms/{room_id}/files); the body may then be "".
    """
    reply = await backends.chat.SendMessage(
        pb.SendMessageRequest(
            room_id=room_id,
            client_msg_id=body.client_msg_id,
            body=body.body,
            thread_root_seq=body.thread_root_seq,
            also_in_room=body.also_in_room,
            file_ids=body.file_ids,
        ),
        metadata=caller.metadata,
        timeout=backends.timeout,
    )
    if reply.duplicate:
        response.status_code = status.HTTP_200_OK
    return {"message": convert.message_json(reply.message), "duplicate": reply.duplicate}


@router.patch("/messages/{seq}", response_model=OneMessage, summary="Edit one's own message", responses=ROOM_ARCHIVED)
async def edit(
    room_id: RoomId, seq: MessageSeq, body: EditMessageBody, backends: BackendsDep, caller: CallerDep
) -> dict[str, Any]:
    """Replaces the body; 403 for someone else's message."""
    reply = await backends.chat.EditMessage(
        pb.EditMessageRequest(room_id=room_id, seq=seq, body=body.body),
        metadata=caller.metadata,
        timeout=backends.timeout,
    )
    return {"message": convert.message_json(reply.message)}


@router.delete("/messages/{seq}", response_model=OneMessage, summary="Delete one's own message")
async def delete(room_id: RoomId, seq: MessageSeq, backends: BackendsDep, caller: CallerDep) -> dict[str, Any]:
    """Answers the tombstone that history keeps at this seq; 403 for someone else's message."""
    reply = await backends.chat.DeleteMessage(
        pb.DeleteMessageRequest(room_id=room_id, seq=seq), metadata=caller.metadata, timeout=backends.timeout
    )
    return {"message": convert.message_json(reply.message)}


@router.post("/read", response_model=ReadMarker, summary="Move the read marker")
async def mark_read(room_id: RoomId, body: MarkReadBody, backends: BackendsDep, caller: CallerDep) -> dict[str, Any]:
    """Forward only, clamped to the newest seq; answers the marker and the unread and mention counts."""
    reply = await backends.chat.MarkRead(
        pb.MarkReadRequest(room_id=room_id, seq=body.seq), metadata=caller.metadata, timeout=backends.timeout
    )
    return {
        "last_read_seq": reply.last_read_seq,
        "unread_count": reply.unread_count,
        "mention_count": reply.mention_count,
    }


@router.post("/typing", response_model=TypingNotice, summary="Say the caller is typing")
async def typing(room_id: RoomId, backends: BackendsDep, caller: CallerDep) -> dict[str, Any]:
    """Ephemeral; repeat every few seconds while typing."""
    reply = await backends.chat.SendTyping(
        pb.SendTypingRequest(room_id=room_id), metadata=caller.metadata, timeout=backends.timeout
    )
    return {"expires_at": convert.time_json(reply.expires_at)}


# -- reactions and moderation ----------------------------------------------------------------------

Emoji = Annotated[
    str,
    Path(
        min_length=1,
        max_length=rules.EMOJI_CHARS_MAX,
        description=f"One emoji, URL-encoded (e.g. %F0%9F%91%8D for 👍); at most {rules.EMOJI_CHARS_MAX} code points",
    ),
]


async def _react(
    room_id: int, seq: int, emoji: str, add: bool, backends: BackendsDep, caller: CallerDep
) -> dict[str, Any]:
    reply = await backends.chat.React(
        pb.ReactRequest(room_id=room_id, seq=seq, emoji=emoji, add=add),
        metadata=caller.metadata,
        timeout=backends.timeout,
    )
    return {"message": convert.message_json(reply.message), "changed": reply.changed}


@router.put(
    "/messages/{seq}/reactions/{emoji}",
    response_model=Reacted,
    summary="React to a message",
    responses={**error_responses(429), **ROOM_ARCHIVED},
)
async def add_reaction(
    room_id: RoomId, seq: MessageSeq, emoji: Emoji, backends: BackendsDep, caller: CallerDep
) -> dict[str, Any]:
    """Adds the caller's reaction; again is fine (changed=false). 400: not one emoji; 429: a 21st emoji."""
    return await _react(room_id, seq, emoji, True, backends, caller)


@router.delete(
    "/messages/{seq}/reactions/{emoji}", response_model=Reacted, summary="Take a reaction back", responses=ROOM_ARCHIVED
)
async def remove_reaction(
    room_id: RoomId, seq: MessageSeq, emoji: Emoji, backends: BackendsDep, caller: CallerDep
) -> dict[str, Any]:
    """Removes the caller's reaction; one that is not there is fine (changed=false)."""
    return await _react(room_id, seq, emoji, False, backends, caller)
