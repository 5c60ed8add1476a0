"""Consent: the caller's pending invitations (accept, decline) and the users they blocked."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from edge_gateway import convert
from edge_gateway.deps import BackendsDep, CallerDep
from edge_gateway.schemas import (
    INT64_FORMAT,
    INT64_MAX,
    ROOM_ARCHIVED,
    BlockedUsers,
    Invitations,
    Room,
    error_responses,
)
from parley.chat.v1 import chat_pb2 as pb

router = APIRouter(tags=["consent"], responses=error_responses(400, 401, 403, 404, 422, 500, 503, 504))

RoomId = Annotated[
    int, Path(gt=0, le=INT64_MAX, description="The invitation's room id", json_schema_extra=INT64_FORMAT)
]
UserId = Annotated[int, Path(gt=0, le=INT64_MAX, description="A user id", json_schema_extra=INT64_FORMAT)]


@router.get("/invitations", response_model=Invitations, summary="The caller's pending invitations")
async def invitations(backends: BackendsDep, caller: CallerDep) -> dict[str, Any]:
    """Newest first; at most CHAT_MAX_PENDING_INVITATIONS. Each arrives live as an `invitation` frame too."""
    reply = await backends.chat.ListInvitations(
        pb.ListInvitationsRequest(), metadata=caller.metadata, timeout=backends.timeout
    )
    return {"invitations": [convert.invitation_json(i) for i in reply.invitations]}


@router.post(
    "/invitations/{room_id}/accept", response_model=Room, summary="Accept an invitation", responses=ROOM_ARCHIVED
)
async def accept(room_id: RoomId, backends: BackendsDep, caller: CallerDep) -> dict[str, Any]:
    """The caller joins the room; 404 without a pending invitation, 400 past the caller's room cap."""
    reply = await backends.chat.AcceptInvitation(
        pb.AcceptInvitationRequest(room_id=room_id), metadata=caller.metadata, timeout=backends.timeout
    )
    return convert.room_json(reply.room)


@router.post("/invitations/{room_id}/decline", status_code=status.HTTP_204_NO_CONTENT, summary="Decline an invitation")
async def decline(room_id: RoomId, backends: BackendsDep, caller: CallerDep) -> Response:
    """Nobody can invite the caller to that room again, until they join it themselves; 404 without an invitation."""
    await backends.chat.DeclineInvitation(
        pb.DeclineInvitationRequest(room_id=room_id), metadata=caller.metadata, timeout=backends.timeout
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/blocks", response_model=BlockedUsers, summary="The users the caller blocked")
async def blocked(backends: BackendsDep, caller: CallerDep) -> dict[str, Any]:
    """Most recent first."""
    reply = await backends.chat.ListBlockedUsers(
        pb.ListBlockedUsersRequest(), metadata=caller.metadata, timeout=backends.timeout
    )
    return {"users": [{"user_id": u.user_id, "blocked_at": convert.time_json(u.blocked_at)} for u in reply.users]}


@router.put(
    "/blocks/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Block a user",
    responses=error_responses(429),
)
async def block(user_id: UserId, backends: BackendsDep, caller: CallerDep) -> Response:
    """They can no longer open a direct conversation with the caller or invite them; their pending invitations
    go. Rooms already shared stay. Idempotent; 400 for oneself, 404 for no such user."""
    await backends.chat.BlockUser(
        pb.BlockUserRequest(user_id=user_id), metadata=caller.metadata, timeout=backends.timeout
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/blocks/{user_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Unblock a user")
async def unblock(user_id: UserId, backends: BackendsDep, caller: CallerDep) -> Response:
    """Idempotent."""
    await backends.chat.UnblockUser(
        pb.UnblockUserRequest(user_id=user_id), metadata=caller.metadata, timeout=backends.timeout
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
