"""Rooms: the caller's rooms, public channels, creating, joining, leaving, members, presence."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status

from edge_gateway import convert, rules
from edge_gateway.deps import BackendsDep, CallerDep
from edge_gateway.schemas import (
    INT64_FORMAT,
    INT64_MAX,
    ROOM_ARCHIVED,
    CreateRoomBody,
    DirectRoom,
    InvitationSent,
    Member,
    MemberPage,
    MyRooms,
    NotificationLevelAnswer,
    NotificationLevelBody,
    Presence,
    RoleBody,
    Room,
    RoomPage,
    UpdateRoomBody,
    UserRef,
    error_responses,
)
from parley.chat.v1 import chat_pb2 as pb

router = APIRouter(tags=["rooms"], responses=error_responses(400, 401, 403, 404, 422, 500, 503, 504))

RoomId = Annotated[int, Path(gt=0, le=INT64_MAX, description="A room id", json_schema_extra=INT64_FORMAT)]
After = Annotated[
    int,
    Query(ge=0, le=INT64_MAX, description="Start after this id (0 = from the start)", json_schema_extra=INT64_FORMAT),
]


@router.get("/rooms", response_model=MyRooms, summary="The caller's rooms")
async def my_rooms(
    backends: BackendsDep,
    caller: CallerDep,
    after: After = 0,
    limit: Annotated[int, Query(ge=0, le=rules.ROOMS_PAGE_MAX, description="Page size (0 = the default, 200)")] = 0,
) -> dict[str, Any]:
    """A page, ascending room id, with read markers and unread counts; pass the last id as `after` for the next."""
    reply = await backends.chat.ListMyRooms(
        pb.ListMyRoomsRequest(after_room_id=after, limit=limit), metadata=caller.metadata, timeout=backends.timeout
    )
    return {"rooms": [convert.my_room_json(entry) for entry in reply.rooms], "has_more": reply.has_more}


@router.get("/rooms/public", response_model=RoomPage, summary="Browse public channels")
async def public_rooms(
    backends: BackendsDep,
    caller: CallerDep,
    query: Annotated[str, Query(max_length=rules.ROOM_NAME_MAX, description="Case-insensitive part of the name")] = "",
    after: After = 0,
    limit: Annotated[int, Query(ge=0, le=rules.PAGE_MAX, description="Page size (0 = the default, 50)")] = 0,
) -> dict[str, Any]:
    """Ascending id; pass the last id as `after` for the next page."""
    reply = await backends.chat.ListPublicRooms(
        pb.ListPublicRoomsRequest(query=query, after_room_id=after, limit=limit),
        metadata=caller.metadata,
        timeout=backends.timeout,
    )
    return {"rooms": [convert.room_json(room) for room in reply.rooms], "has_more": reply.has_more}


@router.post("/rooms", status_code=status.HTTP_201_CREATED, response_model=Room, summary="Create a room")
async def create_room(body: CreateRoomBody, backends: BackendsDep, caller: CallerDep) -> dict[str, Any]:
    """A public channel or a private room; the caller becomes its owner, member_ids are invited."""
    reply = await backends.chat.CreateRoom(
        pb.CreateRoomRequest(
            kind=convert.KIND_VALUES[body.kind], name=body.name, topic=body.topic, member_ids=body.member_ids
        ),
        metadata=caller.metadata,
        timeout=backends.timeout,
    )
    return convert.room_json(reply.room)


@router.get("/rooms/{room_id}", response_model=Room, summary="One room")
async def get_room(room_id: RoomId, backends: BackendsDep, caller: CallerDep) -> dict[str, Any]:
    """A room the caller belongs to, or any public channel."""
    reply = await backends.chat.GetRoom(
        pb.GetRoomRequest(room_id=room_id), metadata=caller.metadata, timeout=backends.timeout
    )
    return convert.room_json(reply.room)


@router.post("/rooms/{room_id}/join", response_model=Room, summary="Join a public channel", responses=ROOM_ARCHIVED)
async def join(room_id: RoomId, backends: BackendsDep, caller: CallerDep) -> dict[str, Any]:
    """Idempotent; 403 for private and direct rooms."""
    reply = await backends.chat.JoinRoom(
        pb.JoinRoomRequest(room_id=room_id), metadata=caller.metadata, timeout=backends.timeout
    )
    return convert.room_json(reply.room)


@router.post("/rooms/{room_id}/leave", status_code=status.HTTP_204_NO_CONTENT, summary="Leave a room")
async def leave(room_id: RoomId, backends: BackendsDep, caller: CallerDep) -> Response:
    """A public channel or a private room; 400 for a direct room."""
    await backends.chat.LeaveRoom(
        pb.LeaveRoomRequest(room_id=room_id), metadata=caller.metadata, timeout=backends.timeout
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/rooms/{room_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationSent,
    summary="Invite a user",
    responses={**error_responses(429), **ROOM_ARCHIVED},
)
async def invite(room_id: RoomId, body: UserRef, backends: BackendsDep, caller: CallerDep) -> dict[str, Any]:
    """Sends a pending invitation to a room the caller belongs to; the user joins when they accept. Idempotent.

    400 when they declined an invitation to this room, 403 when either blocked the other, 429 when
    they have too many invitations waiting.
    """
    reply = await backends.chat.InviteMember(
        pb.InviteMemberRequest(room_id=room_id, user_id=body.user_id),
        metadata=caller.metadata,
        timeout=backends.timeout,
    )
    sent = convert.invitation_json(reply.invitation) if reply.HasField("invitation") else None
    return {"invitation": sent, "already_member": reply.already_member}


@router.get("/rooms/{room_id}/members", response_model=MemberPage, summary="A room's members")
async def members(
    room_id: RoomId,
    backends: BackendsDep,
    caller: CallerDep,
    after: After = 0,
    limit: Annotated[int, Query(ge=0, le=rules.MEMBERS_PAGE_MAX, description="Page size (0 = the default, 200)")] = 0,
) -> dict[str, Any]:
    """Ascending user id; pass the last user id as `after` for the next page."""
    reply = await backends.chat.ListMembers(
        pb.ListMembersRequest(room_id=room_id, after_user_id=after, limit=limit),
        metadata=caller.metadata,
        timeout=backends.timeout,
    )
    return {"members": [convert.member_json(member) for member in reply.members], "has_more": reply.has_more}


@router.get("/rooms/{room_id}/presence", response_model=Presence, summary="Who is online in a room")
async def presence(room_id: RoomId, backends: BackendsDep, caller: CallerDep, request: Request) -> dict[str, Any]:
    """Users with a live socket on this gateway; only for rooms the caller may see."""
    await backends.chat.GetRoom(pb.GetRoomRequest(room_id=room_id), metadata=caller.metadata, timeout=backends.timeout)
    online: list[int] = request.app.state.presence.online(room_id)
    return {"room_id": room_id, "online": online}


@router.post(
    "/direct",
    status_code=status.HTTP_201_CREATED,
    response_model=DirectRoom,
    summary="Open the direct conversation with a user",
    responses={status.HTTP_200_OK: {"model": DirectRoom, "description": "It existed already"}},
)
async def direct(body: UserRef, backends: BackendsDep, caller: CallerDep, response: Response) -> dict[str, Any]:
    """201 when this call created it, 200 when it existed; 404 when the other user does not exist, 400 for oneself."""
    reply = await backends.chat.OpenDirectRoom(
        pb.OpenDirectRoomRequest(user_id=body.user_id), metadata=caller.metadata, timeout=backends.timeout
    )
    if not reply.created:
        response.status_code = status.HTTP_200_OK
    return {"room": convert.room_json(reply.room), "created": reply.created}


@router.put("/rooms/{room_id}/notifications", response_model=NotificationLevelAnswer, summary="Set when to be notified")
async def notifications(
    room_id: RoomId, body: NotificationLevelBody, backends: BackendsDep, caller: CallerDep
) -> dict[str, Any]:
    """The caller's notification level for a room, on all their devices; answers the level in force.

    Counts are kept whatever the level. The caller's other sockets get a member_settings frame.
    """
    reply = await backends.chat.SetNotificationLevel(
        pb.SetNotificationLevelRequest(room_id=room_id, level=convert.LEVEL_VALUES[body.level]),
        metadata=caller.metadata,
        timeout=backends.timeout,
    )
    return {"level": convert.NOTIFICATION_LEVELS[reply.level]}


# -- reactions and moderation ----------------------------------------------------------------------

UserId = Annotated[int, Path(gt=0, le=INT64_MAX, description="A member's user id", json_schema_extra=INT64_FORMAT)]


@router.patch("/rooms/public", include_in_schema=False)
async def no_patch_of_the_channel_browser() -> None:
    """/rooms/public is GET /rooms/public's path, not a room: PATCH there is 405, not a 422 for room "public"."""
    raise HTTPException(status.HTTP_405_METHOD_NOT_ALLOWED)


@router.patch("/rooms/{room_id}", response_model=Room, summary="Change a room's name, topic or settings")
async def update_room(
    room_id: RoomId, body: UpdateRoomBody, backends: BackendsDep, caller: CallerDep
) -> dict[str, Any]:
    """Only the fields given change. The owner and moderators; 400 for a direct room."""
    request = pb.UpdateRoomRequest(room_id=room_id)
    if body.name is not None:
        request.name = body.name
    if body.topic is not None:
        request.topic = body.topic
    if body.room_mentions is not None:
        request.room_mentions = body.room_mentions
    reply = await backends.chat.UpdateRoom(request, metadata=caller.metadata, timeout=backends.timeout)
    return convert.room_json(reply.room)


@router.put("/rooms/{room_id}/members/{user_id}/role", response_model=Member, summary="Change a member's role")
async def set_role(
    room_id: RoomId, user_id: UserId, body: RoleBody, backends: BackendsDep, caller: CallerDep
) -> dict[str, Any]:
    """Makes a member a moderator or a plain member again. The owner only; not the owner's own role."""
    reply = await backends.chat.SetMemberRole(
        pb.SetMemberRoleRequest(room_id=room_id, user_id=user_id, role=convert.ROLE_VALUES[body.role]),
        metadata=caller.metadata,
        timeout=backends.timeout,
    )
    return convert.member_json(reply.member)


@router.delete("/rooms/{room_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a member")
async def remove_member(room_id: RoomId, user_id: UserId, backends: BackendsDep, caller: CallerDep) -> Response:
    """The owner removes anyone else, a moderator plain members; 400 for a direct room or oneself (leave instead)."""
    await backends.chat.RemoveMember(
        pb.RemoveMemberRequest(room_id=room_id, user_id=user_id), metadata=caller.metadata, timeout=backends.timeout
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
