"""The gateway's gRPC connections to auth_svc and chat_svc, opened at start and closed at stop."""

from __future__ import annotations

from dataclasses import dataclass

from grpc import aio

from common.auth_client import ServiceToken, auth_key_source
from common.server import channel
from common.tokens import TokenVerifier
from edge_gateway.settings import GatewaySettings
from parley.auth.v1 import auth_pb2_grpc
from parley.chat.v1 import chat_pb2_grpc


@dataclass
class Backends:
    """Stubs, the token verifier and the gateway's own service token."""

    settings: GatewaySettings
    auth_channel: aio.Channel
    chat_channel: aio.Channel
    auth: auth_pb2_grpc.AuthServiceAsyncStub
    chat: chat_pb2_grpc.ChatServiceAsyncStub
    verifier: TokenVerifier
    service_token: ServiceToken

    @classmethod
    def connect(cls, settings: GatewaySettings) -> Backends:
        """Open channels (they connect lazily) and build the stubs."""
        auth_channel = channel(settings.auth_address)
        chat_channel = channel(settings.chat_address)
        auth = auth_pb2_grpc.AuthServiceStub(auth_channel)
        return cls(
            settings=settings,
            auth_channel=auth_channel,
            chat_channel=chat_channel,
            auth=auth,
            chat=chat_pb2_grpc.ChatServiceStub(chat_channel),
            verifier=TokenVerifier(
                auth_key_source(auth, settings.keys_refresh_seconds), settings.token_issuer, settings.token_audience
            ),
            service_token=ServiceToken(auth, settings.client_id, settings.client_secret.get_secret_value()),
        )

    @property
    def timeout(self) -> float:
        """Deadline for one backend call."""
        return self.settings.grpc_timeout_seconds

    async def close(self) -> None:
        """Close both channels."""
        await self.auth_channel.close(None)
        await self.chat_channel.close(None)
