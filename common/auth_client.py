"""What other services need from auth_svc: its public keys, the sessions it ended, and a token of their own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

import grpc

from common.revocations import OnEnded, RevokedSessions
from common.timestamps import from_epoch
from common.tokens import FetchingKeySource
from parley.auth.v1 import auth_pb2, auth_pb2_grpc

log = logging.getLogger(__name__)

ENDED_PAGE = 1000  # ListEndedSessions' page (auth_svc's answer holds at most this many)
# Each poll asks again for what ended this long before the newest it saw: a session ended in a
# transaction that committed after the previous poll read the table is not missed.
_POLL_OVERLAP_S = 5.0


def auth_key_source(stub: auth_pb2_grpc.AuthServiceAsyncStub, refresh_seconds: float = 300.0) -> FetchingKeySource:
    """Verification keys fetched from auth_svc, cached, refreshed every `refresh_seconds` and on an unknown key id."""

    async def fetch() -> Sequence[tuple[str, str]]:
        response = await stub.GetPublicKeys(auth_pb2.GetPublicKeysRequest(), timeout=5.0)
        return [(key.key_id, key.public_key_pem) for key in response.keys]

    return FetchingKeySource(fetch, refresh_interval=refresh_seconds)


class PolledRevocations:
    """Ended sessions learned by asking auth_svc every `interval` seconds (no broker configured)."""

    def __init__(
        self,
        stub: auth_pb2_grpc.AuthServiceAsyncStub,
        revoked: RevokedSessions,
        interval: float,
        lookback: float = 3600.0,
        on_ended: OnEnded = lambda _, __: None,
    ) -> None:
        self._stub = stub
        self._revoked = revoked
        self._interval = interval
        self._on_ended = on_ended
        self._after = time.time() - lookback  # auth_svc looks back at most one access token lifetime anyway
        self._task: asyncio.Task[None] | None = None

    async def poll(self) -> None:
        """Ask once (page by page) and learn what ended."""
        while True:
            response = await self._stub.ListEndedSessions(
                auth_pb2.ListEndedSessionsRequest(ended_after=from_epoch(self._after - _POLL_OVERLAP_S)), timeout=5.0
            )
            newest = self._after
            for ended in response.sessions:
                if self._revoked.add(ended.session_id, ended.refuse_until.ToNanoseconds() / 1e9):
                    self._on_ended(ended.session_id, ended.account_disabled)
                newest = max(newest, ended.ended_at.ToNanoseconds() / 1e9)
            progressed = newest > self._after + _POLL_OVERLAP_S
            self._after = newest
            if len(response.sessions) < ENDED_PAGE or not progressed:
                return

    async def _run(self) -> None:
        while True:
            try:
                await self.poll()
            except grpc.aio.AioRpcError as exc:
                log.warning("could not ask auth_svc for ended sessions: %s", exc.code().name)
            await asyncio.sleep(self._interval)

    async def start(self) -> None:
        """Poll in the background."""
        self._task = asyncio.create_task(self._run(), name="revocations-poller")

    async def stop(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


class ServiceToken:
    """This service's own access token, fetched with client credentials and renewed before expiry."""

    def __init__(self, stub: auth_pb2_grpc.AuthServiceAsyncStub, client_id: str, client_secret: str) -> None:
        self._stub = stub
        self._client_id = client_id
        self._client_secret = client_secret
        self._token = ""
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        """A token valid for at least another minute (or a third of its life)."""
        async with self._lock:
            if time.time() > self._expires_at - 60:
                response = await self._stub.IssueServiceToken(
                    auth_pb2.IssueServiceTokenRequest(client_id=self._client_id, client_secret=self._client_secret),
                    timeout=5.0,
                )
                self._token = response.access_token
                self._expires_at = response.expires_at.ToSeconds()
            return self._token
