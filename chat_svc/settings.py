"""chat_svc configuration: one typed object, read from CHAT_* environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ChatSettings(BaseSettings):
    """Every knob of chat_svc; see the configuration table in README.md."""

    model_config = SettingsConfigDict(env_prefix="CHAT_", extra="ignore")

    host: str = "0.0.0.0"
    port: int = Field(50052, ge=0, le=65535)
    database_url: str = "sqlite:///var/chat.db"
    db_threads: int = Field(8, ge=1, le=64)
    auth_address: str = "127.0.0.1:50051"
    token_issuer: str = "parley-auth"
    token_audience: str = "parley"
    max_message_chars: int = Field(4000, ge=1, le=16000)
    send_rate_per_second: float = Field(20.0, gt=0)
    send_burst: int = Field(40, ge=1)
    typing_ttl_seconds: float = Field(6.0, gt=0)
    stream_queue_events: int = Field(10_000, ge=10)
    stream_batch_events: int = Field(256, ge=1)
    replay_page: int = Field(500, ge=1, le=5000)
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    log_level: str = "INFO"


@lru_cache
def get_settings() -> ChatSettings:
    """The settings, built on first use so that tests can set the environment first."""
    return ChatSettings()
