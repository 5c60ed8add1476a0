"""AdminService over gRPC: the caller's scope checked first (common/scopes.py), then calls to Admin, protos out."""

from __future__ import annotations

from typing import Any

from auth_svc.admin import Account, AccountSession, Admin
from auth_svc.servicer import user_pb
from common.db import Database
from common.scopes import requires
from common.timestamps import to_timestamp
from common.tokens import ADMIN_READ, ADMIN_WRITE, Principal, TokenVerifier, bearer_token
from parley.audit.v1 import audit_pb2
from parley.auth.v1 import admin_pb2 as pb, admin_pb2_grpc


def account_pb(account: Account) -> pb.Account:
    """The proto form of an account."""
    return pb.Account(
        user=user_pb(account.user),
        disabled=account.disabled,
        admin=account.admin,
        password_reset=account.password_reset,
        active_sessions=account.active_sessions,
        last_seen_at=to_timestamp(account.last_seen_at) if account.last_seen_at else None,
    )


def session_pb(session: AccountSession) -> pb.AccountSession:
    """The proto form of one of an account's sessions."""
    return pb.AccountSession(
        session_id=session.session_id,
        created_at=to_timestamp(session.created_at),
        refreshed_at=to_timestamp(session.refreshed_at) if session.refreshed_at else None,
        ended_at=to_timestamp(session.ended_at) if session.ended_at else None,
        end_reason=session.end_reason,
    )


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    """Translates AdminService calls; each starts with its scope check (@requires; tests/test_operator_scopes.py)."""

    def __init__(self, admin: Admin, db: Database, verifier: TokenVerifier) -> None:
        self._admin = admin
        self._db = db
        self._verifier = verifier

    async def principal(self, context: Any) -> Principal:
        """The verified caller (Unauthenticated otherwise)."""
        return await self._verifier.verify(bearer_token(context.invocation_metadata()))

    @requires(ADMIN_READ)
    async def FindUsers(self, _: Principal, request: pb.FindUsersRequest, context: Any) -> pb.FindUsersResponse:
        accounts, token = await self._db.run(
            self._admin.find, request.username_prefix, list(request.user_ids), request.page_size, request.page_token
        )
        return pb.FindUsersResponse(accounts=[account_pb(a) for a in accounts], next_page_token=token)

    @requires(ADMIN_READ)
    async def GetAccount(self, _: Principal, request: pb.GetAccountRequest, context: Any) -> pb.GetAccountResponse:
        account, sessions = await self._db.run(self._admin.account, request.user_id)
        return pb.GetAccountResponse(account=account_pb(account), sessions=[session_pb(s) for s in sessions])

    @requires(ADMIN_WRITE)
    async def DisableUser(
        self, caller: Principal, request: pb.DisableUserRequest, context: Any
    ) -> pb.DisableUserResponse:
        actor = caller.actor
        account, ended = await self._admin.disable(actor, request.user_id, request.reason)
        return pb.DisableUserResponse(account=account_pb(account), sessions_ended=ended)

    @requires(ADMIN_WRITE)
    async def EnableUser(self, caller: Principal, request: pb.EnableUserRequest, context: Any) -> pb.EnableUserResponse:
        actor = caller.actor
        return pb.EnableUserResponse(
            account=account_pb(await self._admin.enable(actor, request.user_id, request.reason))
        )

    @requires(ADMIN_WRITE)
    async def EndSessions(
        self, caller: Principal, request: pb.EndSessionsRequest, context: Any
    ) -> pb.EndSessionsResponse:
        actor = caller.actor
        ended = await self._admin.end_sessions(actor, request.user_id, request.session_id, request.reason)
        return pb.EndSessionsResponse(sessions_ended=ended)

    @requires(ADMIN_WRITE)
    async def ResetPassword(
        self, caller: Principal, request: pb.ResetPasswordRequest, context: Any
    ) -> pb.ResetPasswordResponse:
        actor = caller.actor
        temporary, ended = await self._admin.reset_password(actor, request.user_id, request.reason)
        return pb.ResetPasswordResponse(temporary_password=temporary, sessions_ended=ended)

    @requires(ADMIN_WRITE)
    async def SetAdmin(self, caller: Principal, request: pb.SetAdminRequest, context: Any) -> pb.SetAdminResponse:
        actor = caller.actor
        account = await self._admin.set_admin(actor, request.user_id, request.admin, request.reason)
        return pb.SetAdminResponse(account=account_pb(account))

    @requires(ADMIN_READ)
    async def ListAuditLog(
        self, _: Principal, request: audit_pb2.ListAuditLogRequest, context: Any
    ) -> audit_pb2.ListAuditLogResponse:
        return await self._db.run(self._admin.audit_log, request)
