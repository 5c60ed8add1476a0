"""AuthService over gRPC: protos in, calls to Accounts, protos out. No rules here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from auth_svc.service import Accounts, Tokens, UserInfo
from common.db import Database
from common.errors import ServiceError
from common.limits import CLIENT_ADDRESS_KEY, CLIENT_ADDRESS_MAX
from common.timestamps import from_epoch, to_timestamp
from common.tokens import Principal, TokenVerifier, bearer_token
from parley.auth.v1 import auth_pb2 as pb, auth_pb2_grpc


def user_pb(user: UserInfo) -> pb.User:
    """The proto form of a user."""
    return pb.User(
        id=user.id, username=user.username, display_name=user.display_name, created_at=to_timestamp(user.created_at)
    )


def session_pb(tokens: Tokens) -> pb.Session:
    """The proto form of a session's tokens."""
    return pb.Session(
        access_token=tokens.access_token,
        access_token_expires_at=from_epoch(tokens.access_expires_at),
        refresh_token=tokens.refresh_token,
        refresh_token_expires_at=to_timestamp(tokens.refresh_expires_at),
        session_id=tokens.session_id,
    )


def peer_host(peer: str) -> str:
    """The host of a gRPC peer string ("ipv4:10.0.0.7:5123", "ipv6:[::1]:5123", "unix:/path")."""
    kind, _, rest = peer.partition(":")
    if kind not in ("ipv4", "ipv6"):
        return peer[:CLIENT_ADDRESS_MAX]
    return rest.rpartition(":")[0].strip("[]")[:CLIENT_ADDRESS_MAX]


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    """Translates AuthService calls; `context` is a grpc.aio.ServicerContext."""

    def __init__(self, accounts: Accounts, db: Database, verifier: TokenVerifier) -> None:
        self.accounts = accounts
        self._db = db
        self._verifier = verifier

    async def _caller(self, context: Any) -> Principal:
        return await self._verifier.verify(bearer_token(context.invocation_metadata()))

    async def _client_address(self, context: Any) -> str:
        """Whom the sign-in throttle counts: the address a service (the gateway) names, else the caller's own."""
        metadata = context.invocation_metadata() or ()
        named = next((value for key, value in metadata if key == CLIENT_ADDRESS_KEY), None)
        if named is not None:
            try:
                if (await self._caller(context)).is_service:
                    text = named.decode(errors="replace") if isinstance(named, bytes) else str(named)
                    return text[:CLIENT_ADDRESS_MAX]
            except ServiceError:
                pass  # no or a bad token: the name is not believed, the call goes on as anyone's
        return peer_host(context.peer())

    async def Register(self, request: pb.RegisterRequest, context: Any) -> pb.RegisterResponse:
        user, tokens = await self.accounts.register(request.username, request.password, request.display_name)
        return pb.RegisterResponse(user=user_pb(user), session=session_pb(tokens))

    async def Login(self, request: pb.LoginRequest, context: Any) -> pb.LoginResponse:
        user, tokens = await self.accounts.login(
            request.username, request.password, await self._client_address(context), request.new_password
        )
        return pb.LoginResponse(user=user_pb(user), session=session_pb(tokens))

    async def Refresh(self, request: pb.RefreshRequest, context: Any) -> pb.RefreshResponse:
        user, tokens = await self.accounts.refresh(request.refresh_token)
        return pb.RefreshResponse(user=user_pb(user), session=session_pb(tokens))

    async def Logout(self, request: pb.LogoutRequest, context: Any) -> pb.LogoutResponse:
        session_id, until = await self.accounts.logout(request.refresh_token)
        return pb.LogoutResponse(session_id=session_id, refuse_until=from_epoch(until) if session_id else None)

    async def ListEndedSessions(
        self, request: pb.ListEndedSessionsRequest, context: Any
    ) -> pb.ListEndedSessionsResponse:
        after = request.ended_after.ToDatetime() if request.HasField("ended_after") else datetime.min
        ended = await self._db.run(self.accounts.ended_sessions, after)
        return pb.ListEndedSessionsResponse(
            sessions=[
                pb.EndedSession(
                    session_id=e.session_id,
                    ended_at=to_timestamp(e.ended_at),
                    refuse_until=from_epoch(e.refuse_until),
                    account_disabled=e.account_disabled,
                )
                for e in ended
            ]
        )

    async def GetUser(self, request: pb.GetUserRequest, context: Any) -> pb.GetUserResponse:
        await self._caller(context)
        key = request.WhichOneof("key")
        user = await self._db.run(
            self.accounts.get_user,
            user_id=request.user_id if key == "user_id" else None,
            username=request.username if key == "username" else None,
        )
        return pb.GetUserResponse(user=user_pb(user))

    async def BatchGetUsers(self, request: pb.BatchGetUsersRequest, context: Any) -> pb.BatchGetUsersResponse:
        await self._caller(context)
        users = await self._db.run(self.accounts.batch_get_users, list(request.user_ids), list(request.usernames))
        return pb.BatchGetUsersResponse(users=[user_pb(u) for u in users])

    async def GetPublicKeys(self, request: pb.GetPublicKeysRequest, context: Any) -> pb.GetPublicKeysResponse:
        keyring = self.accounts.keyring
        return pb.GetPublicKeysResponse(
            keys=[
                pb.PublicKey(
                    key_id=k.key_id, algorithm="EdDSA", public_key_pem=k.public_pem, active=k is keyring.active
                )
                for k in keyring.keys
            ],
            issuer=self.accounts.settings.issuer,
            audience=self.accounts.settings.audience,
        )

    async def IssueServiceToken(
        self, request: pb.IssueServiceTokenRequest, context: Any
    ) -> pb.IssueServiceTokenResponse:
        token, expires = self.accounts.service_token(request.client_id, request.client_secret)
        return pb.IssueServiceTokenResponse(access_token=token, expires_at=from_epoch(expires))
