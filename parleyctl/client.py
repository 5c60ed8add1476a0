"""A small typed client of the mesh's operator APIs, on the generated stubs (no hand-written HTTP or JSON).

    from parleyctl.client import ParleyClient, ServiceCredentials
    from parley.auth.v1 import admin_pb2

    with ParleyClient("127.0.0.1:50051", "127.0.0.1:50052", ServiceCredentials("tool", "its secret")) as parley:
        found = parley.call(parley.admin.FindUsers, admin_pb2.FindUsersRequest(username_prefix="al"))

What every call gets here, so that a tool does not have to think of it:
- a deadline (`timeout` seconds) - a call without one can hang for ever on a half-open connection;
- the caller's token: a service client's, fetched with IssueServiceToken and fetched again a minute
  before it expires (or at once when a call answers UNAUTHENTICATED), or a fixed one (an admin
  user's access token);
- retries, with jittered backoff, of calls that are safe to repeat (reads, and writes that are
  idempotent, which every operator write is) while the service is UNAVAILABLE or a deadline passed;
  a call that is not safe to repeat is tried once.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar

import grpc

from parley.auth.v1 import admin_pb2_grpc, auth_pb2, auth_pb2_grpc
from parley.chat.v1 import moderation_pb2_grpc

Reply = TypeVar("Reply")
RETRIED = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
_RENEW_BEFORE_S = 60.0


class Credentials(Protocol):
    """Where the caller's access token comes from."""

    def token(self, auth: auth_pb2_grpc.AuthServiceStub, timeout: float) -> str:
        """A token that is valid now."""

    def expire(self) -> None:
        """The service refused the token: get another next time (if this kind can)."""


@dataclass
class StaticToken:
    """A token given whole (an admin user's access token): used until the service refuses it."""

    value: str

    def token(self, auth: auth_pb2_grpc.AuthServiceStub, timeout: float) -> str:
        """The token as given."""
        return self.value

    def expire(self) -> None:
        """A fixed token cannot be renewed: the refusal reaches the caller."""


class ServiceCredentials:
    """A service client of AUTH_SERVICE_CLIENTS: its token is fetched, cached and renewed before it expires."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self._token = ""
        self._expires = 0.0
        self._lock = threading.Lock()

    def token(self, auth: auth_pb2_grpc.AuthServiceStub, timeout: float) -> str:
        """The cached token, or a new one when it is within a minute of expiring."""
        with self._lock:
            if not self._token or time.time() > self._expires - _RENEW_BEFORE_S:
                request = auth_pb2.IssueServiceTokenRequest(client_id=self.client_id, client_secret=self._secret)
                reply = auth.IssueServiceToken(request, timeout=timeout)
                self._token, self._expires = reply.access_token, reply.expires_at.ToNanoseconds() / 1e9
            return self._token

    def expire(self) -> None:
        """Fetch a new token on the next call."""
        with self._lock:
            self._token = ""


class ParleyClient:
    """Channels to auth_svc and chat_svc with their operator stubs; `call` and `stream` add the rest."""

    def __init__(
        self,
        auth_target: str,
        chat_target: str,
        credentials: Credentials,
        timeout: float = 10.0,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._auth_channel = grpc.insecure_channel(auth_target)
        self._chat_channel = grpc.insecure_channel(chat_target)
        self.auth = auth_pb2_grpc.AuthServiceStub(self._auth_channel)
        self.admin = admin_pb2_grpc.AdminServiceStub(self._auth_channel)
        self.moderation = moderation_pb2_grpc.ModerationServiceStub(self._chat_channel)
        self.credentials = credentials
        self.timeout = timeout
        self._attempts = max(1, attempts)
        self._sleep = sleep

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close both channels."""
        self._auth_channel.close()
        self._chat_channel.close()

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.credentials.token(self.auth, self.timeout)}"),)

    def call(self, method: Callable[..., Reply], request: Any, idempotent: bool = True) -> Reply:
        """One unary call with a deadline and the token; retried while it may be repeated."""
        refreshed = False
        for attempt in range(self._attempts if idempotent else 1):
            try:
                return method(request, metadata=self._metadata(), timeout=self.timeout)
            except grpc.RpcError as exc:
                code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
                if code == grpc.StatusCode.UNAUTHENTICATED and not refreshed:
                    refreshed = True  # the service token expired or was renewed elsewhere: once more with a new one
                    self.credentials.expire()
                    continue
                if code not in RETRIED or attempt == self._attempts - 1 or not idempotent:
                    raise
                self._sleep(_backoff(attempt))
        return method(request, metadata=self._metadata(), timeout=self.timeout)  # the token refresh's last try

    def stream(self, method: Callable[..., Any], request: Any, timeout: float | None = None) -> Iterator[Any]:
        """A server stream with the token; `timeout` None lets it run until the caller stops (a tail).

        Not retried: a stream that broke is resumed by its caller from what it received (an export
        from the last seq), which only the caller knows.
        """
        return iter(method(request, metadata=self._metadata(), timeout=timeout))


def _backoff(attempt: int) -> float:
    """0.2 s, 0.4 s, 0.8 s ... (at most 5 s), each between half and all of it."""
    ceiling: float = min(5.0, 0.2 * 2.0**attempt)
    return ceiling / 2 + random.random() * ceiling / 2
