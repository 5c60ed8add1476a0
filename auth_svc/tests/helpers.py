"""Call helpers shared by the auth_svc test modules."""

from __future__ import annotations

import hashlib

import grpc
from sqlalchemy import Engine, func, select

from auth_svc.models import User
from common.tokens import auth_metadata
from parley.auth.v1 import auth_pb2 as pb
from tests.support.grpc_testing_adapter import AsyncServicerHarness

PASSWORD = "correct horse"


def register(
    harness: AsyncServicerHarness, username: str = "alice", password: str = PASSWORD, display_name: str = ""
) -> pb.RegisterResponse:
    """Register an account and insist that it worked."""
    request = pb.RegisterRequest(username=username, password=password, display_name=display_name)
    response, code, details = harness.invoke_unary("Register", request)
    assert code == grpc.StatusCode.OK, details
    return response


def login(harness: AsyncServicerHarness, username: str = "alice", password: str = PASSWORD) -> pb.LoginResponse:
    """Sign in and insist that it worked."""
    response, code, details = harness.invoke_unary("Login", pb.LoginRequest(username=username, password=password))
    assert code == grpc.StatusCode.OK, details
    return response


def service_token(harness: AsyncServicerHarness, client_id: str, secret: str) -> str:
    """A service's access token (IssueServiceToken with its AUTH_SERVICE_CLIENTS credentials)."""
    request = pb.IssueServiceTokenRequest(client_id=client_id, client_secret=secret)
    response, code, details = harness.invoke_unary("IssueServiceToken", request)
    assert code == grpc.StatusCode.OK, details
    token: str = response.access_token
    return token


def refresh(harness: AsyncServicerHarness, token: str) -> tuple[pb.RefreshResponse, grpc.StatusCode, str]:
    """(response, code, details) of Refresh."""
    return harness.invoke_unary("Refresh", pb.RefreshRequest(refresh_token=token))


def get_user(
    harness: AsyncServicerHarness, access_token: str, username: str = "alice"
) -> tuple[pb.GetUserResponse, grpc.StatusCode, str]:
    """(response, code, details) of GetUser by username with an access token."""
    return harness.invoke_unary("GetUser", pb.GetUserRequest(username=username), metadata=auth_metadata(access_token))


def user_count(engine: Engine) -> int:
    """How many accounts are stored."""
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(User)) or 0


def token_hash(refresh_token: str) -> str:
    """How a refresh token is stored: its SHA-256 in hex."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()
