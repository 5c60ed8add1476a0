"""edge_gateway configuration: one typed object, read from GATEWAY_* environment variables."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from common.secrets import check_secret
from common.settings import OptionalPort, TokenCheckSettings


class GatewaySettings(TokenCheckSettings):
    """Every knob of the gateway; see the configuration table in README.md."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    host: str = "0.0.0.0"
    port: int = Field(8000, ge=0, le=65535)
    # Prometheus metrics on a port of their own, never behind the public Ingress; `off` = not served.
    metrics_port: OptionalPort = 9103
    auth_address: str = "127.0.0.1:50051"
    # A gRPC target: one replica (host:port), several (ipv4:h1:p1,h2:p2) or dns:///name:port.
    chat_address: str = "127.0.0.1:50052"
    client_id: str = "edge_gateway"
    # No default: the gateway's credentials for IssueServiceToken (AUTH_SERVICE_CLIENTS on auth_svc).
    client_secret: SecretStr
    grpc_timeout_seconds: float = Field(5.0, gt=0)
    # Deadline of an upload or a download through the gateway (the bytes flow for all of it).
    file_timeout_seconds: float = Field(600.0, gt=0)
    ws_auth_timeout_seconds: float = Field(10.0, gt=0)
    ws_heartbeat_seconds: float = Field(20.0, gt=0)
    ws_idle_timeout_seconds: float = Field(60.0, gt=0)
    ws_max_frame_bytes: int = Field(65_536, ge=1024)
    # Rooms the ready frame carries (a page of ListMyRooms); the web app fetches the rest over REST.
    ws_ready_rooms: int = Field(100, ge=1, le=500)
    ws_send_queue_frames: int = Field(2_000, ge=10)
    # Bytes written to a socket but not yet read by its client before it is closed as too slow.
    ws_send_buffer_bytes: int = Field(1 << 20, ge=16_384)
    # Several gateways: a Redis URL (redis://host:6379/0) through which they share presence and
    # sign-outs. Unset: presence is this gateway's sockets only.
    broker_url: str | None = None
    # This gateway's name among the others; empty: hostname-pid.
    instance_id: str = Field("", max_length=100)
    # How long a gateway that stopped answering keeps its users online elsewhere.
    presence_ttl_seconds: float = Field(45.0, gt=1)
    # Presence frames go to rooms with at most this many sockets on a gateway; bigger rooms ask
    # GET /rooms/{id}/presence (each arrival telling everyone grows with the square of the room).
    presence_room_limit: int = Field(200, ge=0)
    # Rate limits: JSON {"family": "N per period"} over edge_gateway/rates.py's DEFAULT_LIMITS.
    rate_limits: dict[str, str] = Field(default_factory=dict)
    # Sockets a user may hold open on this gateway, and sockets not yet signed in per client address.
    ws_sockets_per_user: int = Field(20, ge=1)
    ws_anonymous_sockets_per_address: int = Field(50, ge=1)
    # Proxies whose X-Forwarded-For is believed (IPs or CIDRs); empty: none, the peer is the client.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Browser origins allowed to call the API (CORS) and to open WebSockets (a socket from another origin is
    # refused; clients that send no Origin, which browsers always do, are not browsers and are let in).
    cors_origins: list[str] = Field(default_factory=lambda: ["http://localhost:3000", "http://127.0.0.1:3000"])
    # The interactive docs page and the OpenAPI document under /api/v1; off in a production that does not publish them.
    api_docs: bool = True
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    log_level: str = "INFO"

    @field_validator("rate_limits")
    @classmethod
    def _known_limits(cls, value: dict[str, str]) -> dict[str, str]:
        from edge_gateway.rates import parse_table  # the table's module; it imports the error types

        return parse_table(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        # uvicorn takes a malformed entry as a literal host that matches nothing: say so at start instead.
        for entry in value:
            if entry == "*":
                raise ValueError("GATEWAY_TRUSTED_PROXIES must not be '*': every client could pick its own address")
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"GATEWAY_TRUSTED_PROXIES entry {entry!r} is not an IP address or CIDR") from None
        return value

    @field_validator("client_secret")
    @classmethod
    def _real_secret(cls, value: SecretStr) -> SecretStr:
        check_secret(value.get_secret_value(), "GATEWAY_CLIENT_SECRET")
        return value


@lru_cache
def get_settings() -> GatewaySettings:
    """The settings, built on first use so that tests can set the environment first."""
    return GatewaySettings()  # client_secret comes from the environment
