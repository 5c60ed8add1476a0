"""auth_svc configuration: one typed object, read from AUTH_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from auth_svc.passwords import DEFAULT_MEMORY_KIB, DEFAULT_TIME_COST
from common.secrets import check_secret
from common.settings import GrpcServerSettings, OptionalPort


class ServiceClient(BaseModel):
    """One internal service's credentials for IssueServiceToken, and the scopes its tokens carry."""

    model_config = {"frozen": True, "extra": "forbid"}

    secret: SecretStr
    # common.tokens' ADMIN_READ / ADMIN_WRITE: the operator services (AdminService, ModerationService).
    scopes: frozenset[Literal["admin:read", "admin:write"]] = frozenset()


def _client(value: object) -> object:
    """A bare secret string is a client without scopes (the gateway's form)."""
    return {"secret": value} if isinstance(value, str | SecretStr) else value


class AuthSettings(GrpcServerSettings):
    """Every knob of auth_svc; see the configuration table in README.md."""

    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore")

    host: str = "0.0.0.0"
    port: int = Field(50051, ge=0, le=65535)
    # Prometheus metrics on a port of their own (common/metrics.py); `off` = not served.
    metrics_port: OptionalPort = 9101
    database_url: str = "sqlite:///var/auth.db"
    db_threads: int = Field(8, ge=1, le=64)
    # How long a transaction is retried through a database outage outside a call (in one: its deadline).
    db_retry_seconds: float = Field(4.0, ge=0, le=60)
    keys_dir: Path = Path("var/auth_keys")
    generate_key_if_missing: bool = True
    active_key_id: str = ""
    issuer: str = "parley-auth"
    audience: str = "parley"
    access_token_ttl_seconds: int = Field(900, ge=30)
    refresh_token_ttl_seconds: int = Field(30 * 24 * 3600, ge=60)
    service_token_ttl_seconds: int = Field(3600, ge=30)
    # {"client id": "secret"} or {"client id": {"secret": "...", "scopes": ["admin:read", ...]}}.
    service_clients: dict[str, Annotated[ServiceClient, BeforeValidator(_client)]] = Field(default_factory=dict)
    # The sign-in throttle (auth_svc/throttle.py): attempts before delays start, per username from one
    # address, per username from anywhere and per address; the longest delay; how long counts are kept.
    login_free_attempts: int = Field(3, ge=1, le=1000)
    login_account_free_attempts: int = Field(20, ge=1, le=100_000)
    login_address_free_attempts: int = Field(50, ge=1, le=100_000)
    login_max_delay_seconds: float = Field(60.0, ge=1, le=3600)
    login_memory_seconds: float = Field(900.0, ge=60, le=86400)
    # Several replicas: a Redis URL (the gateways' and chat_svc's) for the shared sign-in throttle
    # and the announcement of ended sessions. Unset: in memory, one replica.
    broker_url: str | None = None
    # argon2: its own worker threads (each hash holds argon2_memory_kib), and its cost. Hashes keep
    # their own parameters, so changing these never breaks a stored one.
    hash_threads: int = Field(2, ge=1, le=64)
    argon2_time_cost: int = Field(DEFAULT_TIME_COST, ge=1, le=20)
    argon2_memory_kib: int = Field(DEFAULT_MEMORY_KIB, ge=8, le=4 * 1024 * 1024)
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    log_level: str = "INFO"

    @field_validator("service_clients")
    @classmethod
    def _no_placeholder_secrets(cls, value: dict[str, ServiceClient]) -> dict[str, ServiceClient]:
        for name, client in value.items():
            check_secret(client.secret.get_secret_value(), f"the secret of service client {name!r}")
        return value


@lru_cache
def get_settings() -> AuthSettings:
    """The settings, built on first use so that tests can set the environment first."""
    return AuthSettings()
