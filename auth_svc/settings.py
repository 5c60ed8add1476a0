"""auth_svc configuration: one typed object, read from AUTH_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.secrets import check_secret


class AuthSettings(BaseSettings):
    """Every knob of auth_svc; see the configuration table in README.md."""

    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore")

    host: str = "0.0.0.0"
    port: int = Field(50051, ge=0, le=65535)
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
    service_clients: dict[str, SecretStr] = Field(default_factory=dict)
    login_max_failures: int = Field(5, ge=1)
    login_lockout_seconds: int = Field(300, ge=1)
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    log_level: str = "INFO"

    @field_validator("service_clients")
    @classmethod
    def _no_placeholder_secrets(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for client, secret in value.items():
            check_secret(secret.get_secret_value(), f"the secret of service client {client!r}")
        return value


@lru_cache
def get_settings() -> AuthSettings:
    """The settings, built on first use so that tests can set the environment first."""
    return AuthSettings()
