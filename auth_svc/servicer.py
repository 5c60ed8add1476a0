"""AuthService over gRPC: protos in, calls to Accounts, protos out. No rules here."""

from __future__ import annotations

from typing import Any

from auth_svc.service import Accounts, Tokens, UserInfo
from common.db import Database
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


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    """Translates AuthService calls; `context` is a grpc.aio.ServicerContext."""

    def __init__(self, accounts: Accounts, db: Database, verifier: TokenVerifier) -> None:
        self._accounts = accounts
        self._db = db
        self._verifier = verifier

    async def _caller(self, context: Any) -> Principal:
        return await self._verifier.verify(bearer_token(context.invocation_metadata()))

    async def Register(self, request: pb.RegisterRequest, context: Any) -> pb.RegisterResponse:
        user, tokens = await self._db.run_once(
            self._accounts.register, request.username, request.password, request.display_name
        )
        return pb.RegisterResponse(user=user_pb(user), session=session_pb(tokens))

    async def Login(self, request: pb.LoginRequest, context: Any) -> pb.LoginResponse:
        user, tokens = await self._db.run_once(self._accounts.login, request.username, request.password)
        return pb.LoginResponse(user=user_pb(user), session=session_pb(tokens))

    async def Refresh(self, request: pb.RefreshRequest, context: Any) -> pb.RefreshResponse:
        user, tokens = await self._db.run_once(self._accounts.refresh, request.refresh_token)
        return pb.RefreshResponse(user=user_pb(user), session=session_pb(tokens))

    async def Logout(self, request: pb.LogoutRequest, context: Any) -> pb.LogoutResponse:
        session_id = await self._db.run(self._accounts.logout, request.refresh_token)
        return pb.LogoutResponse(session_id=session_id)

    async def GetUser(self, request: pb.GetUserRequest, context: Any) -> pb.GetUserResponse:
        await self._caller(context)
        key = request.WhichOneof("key")
        user = await self._db.run(
            self._accounts.get_user,
            user_id=request.user_id if key == "user_id" else None,
            username=request.username if key == "username" else None,
        )
        return pb.GetUserResponse(user=user_pb(user))

    async def BatchGetUsers(self, request: pb.BatchGetUsersRequest, context: Any) -> pb.BatchGetUsersResponse:
        await self._caller(context)
        users = await self._db.run(self._accounts.batch_get_users, list(request.user_ids), list(request.usernames))
        return pb.BatchGetUsersResponse(users=[user_pb(u) for u in users])

    async def GetPublicKeys(self, request: pb.GetPublicKeysRequest, context: Any) -> pb.GetPublicKeysResponse:
        keyring = self._accounts.keyring
        return pb.GetPublicKeysResponse(
            keys=[
                pb.PublicKey(
                    key_id=k.key_id, algorithm="EdDSA", public_key_pem=k.public_pem, active=k is keyring.active
                )
                for k in keyring.keys
            ],
            issuer=self._accounts.settings.issuer,
            audience=self._accounts.settings.audience,
        )

    async def IssueServiceToken(
        self, request: pb.IssueServiceTokenRequest, context: Any
    ) -> pb.IssueServiceTokenResponse:
        token, expires = self._accounts.service_token(request.client_id, request.client_secret)
        return pb.IssueServiceTokenResponse(access_token=token, expires_at=from_epoch(expires))
