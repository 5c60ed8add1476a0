"""What other services need from auth_svc: its public keys, and a token of their own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from common.tokens import FetchingKeySource
from parley.auth.v1 import auth_pb2, auth_pb2_grpc


def auth_key_source(stub: auth_pb2_grpc.AuthServiceAsyncStub) -> FetchingKeySource:
    """Verification keys fetched from auth_svc, cached, refetched on an unknown key id."""

    async def fetch() -> Sequence[tuple[str, str]]:
        response = await stub.GetPublicKeys(auth_pb2.GetPublicKeysRequest(), timeout=5.0)
        return [(key.key_id, key.public_key_pem) for key in response.keys]

    return FetchingKeySource(fetch)


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
