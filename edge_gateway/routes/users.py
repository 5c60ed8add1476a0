"""Users: the caller, one user by id or username, many users by id."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from edge_gateway import convert, rules
from edge_gateway.deps import BackendsDep, CallerDep
from edge_gateway.schemas import INT64_FORMAT, INT64_MAX, Id, User, Users, error_responses
from parley.auth.v1 import auth_pb2

router = APIRouter(prefix="/users", tags=["users"], responses=error_responses(400, 401, 404, 422, 500, 503, 504))

UserId = Annotated[int, Path(gt=0, le=INT64_MAX, description="A user id", json_schema_extra=INT64_FORMAT)]


async def _get_user(backends: BackendsDep, caller: CallerDep, request: auth_pb2.GetUserRequest) -> dict[str, Any]:
    reply = await backends.auth.GetUser(request, metadata=caller.metadata, timeout=backends.timeout)
    return convert.user_json(reply.user)


@router.get("/me", response_model=User, summary="The signed-in user")
async def me(backends: BackendsDep, caller: CallerDep) -> dict[str, Any]:
    """The user behind the access token."""
    return await _get_user(backends, caller, auth_pb2.GetUserRequest(user_id=caller.user_id))


@router.get("/by-username/{username}", response_model=User, summary="A user by username")
async def by_username(
    username: Annotated[str, Path(min_length=1, max_length=256)], backends: BackendsDep, caller: CallerDep
) -> dict[str, Any]:
    """Any case; 404 when there is no such user."""
    return await _get_user(backends, caller, auth_pb2.GetUserRequest(username=username))


@router.get("/{user_id}", response_model=User, summary="A user by id")
async def by_id(user_id: UserId, backends: BackendsDep, caller: CallerDep) -> dict[str, Any]:
    """404 when there is no such user."""
    return await _get_user(backends, caller, auth_pb2.GetUserRequest(user_id=user_id))


@router.get("", response_model=Users, summary="Many users by id")
async def batch(
    backends: BackendsDep,
    caller: CallerDep,
    ids: Annotated[
        list[Id],
        Query(min_length=1, max_length=rules.BATCH_USERS_MAX, description="Repeat the parameter: ?ids=1&ids=2"),
    ],
) -> dict[str, Any]:
    """Unknown ids are left out; the answer is in ascending id order."""
    reply = await backends.auth.BatchGetUsers(
        auth_pb2.BatchGetUsersRequest(user_ids=ids), metadata=caller.metadata, timeout=backends.timeout
    )
    return {"users": [convert.user_json(user) for user in reply.users]}
