"""Which users exist, and who has a username: asked of auth_svc, forwarding the caller's own token.

Usernames never change and are never given to anyone else, so what a name resolves to is cached
(bounded: the least recently used names go first); names nobody has are not, since they may be
registered any moment.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import grpc

from common.errors import InvalidArgument, NotFound, Unauthenticated, Unavailable
from common.tokens import auth_metadata
from parley.auth.v1 import auth_pb2, auth_pb2_grpc

NAMES_CACHED = 50_000  # usernames -> ids kept (a few MB)


class UserDirectory:
    """Checks user ids against auth_svc, and resolves usernames (cached)."""

    def __init__(self, stub: auth_pb2_grpc.AuthServiceAsyncStub, names_cached: int = NAMES_CACHED) -> None:
        self._stub = stub
        self._ids: OrderedDict[str, int] = OrderedDict()
        self._names_cached = names_cached

    async def require_users(self, user_ids: Sequence[int], token: str, timeout_s: float) -> None:
        """NotFound unless every id names an existing user."""
        wanted = sorted(set(user_ids))
        if not wanted:
            return
        response = await self._batch_get(auth_pb2.BatchGetUsersRequest(user_ids=wanted), token, timeout_s)
        missing = set(wanted) - {user.id for user in response.users}
        if missing:
            raise NotFound(f"no user with id {min(missing)}")

    async def user_ids(self, usernames: Sequence[str], token: str, timeout_s: float) -> dict[str, int]:
        """The ids of the users with these (lower-case) usernames; names nobody has are left out."""
        found: dict[str, int] = {}
        missing = []
        for name in usernames:
            user_id = self._ids.get(name)
            if user_id is None:
                missing.append(name)
            else:
                self._ids.move_to_end(name)
                found[name] = user_id
        if missing:
            response = await self._batch_get(auth_pb2.BatchGetUsersRequest(usernames=missing), token, timeout_s)
            for user in response.users:
                found[user.username] = self._ids[user.username] = user.id
            while len(self._ids) > self._names_cached:
                self._ids.popitem(last=False)
        return found

    async def _batch_get(
        self, request: auth_pb2.BatchGetUsersRequest, token: str, timeout_s: float
    ) -> auth_pb2.BatchGetUsersResponse:
        try:
            return await self._stub.BatchGetUsers(request, metadata=auth_metadata(token), timeout=timeout_s)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                raise Unauthenticated(exc.details() or "token refused by auth_svc") from exc
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidArgument(exc.details() or "auth_svc refused the user lookup") from exc
            raise Unavailable("cannot look up users right now: auth_svc did not answer") from exc
