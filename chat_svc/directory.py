"""Which users exist: asked of auth_svc, forwarding the caller's own token."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from common.errors import InvalidArgument, NotFound, Unauthenticated, Unavailable
from common.tokens import auth_metadata
from parley.auth.v1 import auth_pb2, auth_pb2_grpc


class UserDirectory:
    """Checks user ids against auth_svc."""

    def __init__(self, stub: auth_pb2_grpc.AuthServiceAsyncStub) -> None:
        self._stub = stub

    async def require_users(self, user_ids: Sequence[int], token: str, timeout_s: float) -> None:
        """NotFound unless every id names an existing user."""
        wanted = sorted(set(user_ids))
        if not wanted:
            return
        try:
            response = await self._stub.BatchGetUsers(
                auth_pb2.BatchGetUsersRequest(user_ids=wanted), metadata=auth_metadata(token), timeout=timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                raise Unauthenticated(exc.details() or "token refused by auth_svc") from exc
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidArgument(exc.details() or "auth_svc refused the user ids") from exc
            raise Unavailable("cannot check users right now: auth_svc did not answer") from exc
        missing = set(wanted) - {user.id for user in response.users}
        if missing:
            raise NotFound(f"no user with id {min(missing)}")
