"""Settings every service shares, each read under the service's own prefix (AUTH_, CHAT_, GATEWAY_)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings


def _off_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and value.strip().lower() in ("", "off") else value


# A port that can be turned off: `off` or an empty value (`*_METRICS_PORT=off`) means none; 0 picks a free one.
OptionalPort = Annotated[Annotated[int, Field(ge=0, le=65535)] | None, BeforeValidator(_off_is_none)]


class TokenCheckSettings(BaseSettings):
    """What a component that verifies access tokens needs (chat_svc, the gateway)."""

    token_issuer: str = "parley-auth"
    token_audience: str = "parley"
    # Ended sessions: asked of auth_svc this often when there is no broker; public keys refreshed this often.
    revocation_poll_seconds: float = Field(2.0, gt=0, le=60)
    keys_refresh_seconds: float = Field(300.0, gt=0)


class GrpcServerSettings(BaseSettings):
    """What a gRPC service (auth_svc, chat_svc) needs to serve."""

    # Server reflection lets grpcurl list and describe the API; off, a caller must bring the .proto files.
    grpc_reflection: bool = True
