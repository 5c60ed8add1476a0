"""chat_svc configuration: one typed object, read from CHAT_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from common.limits import MESSAGE_CHARS_DEFAULT
from common.settings import GrpcServerSettings, OptionalPort, TokenCheckSettings

# Raster images, PDF, plain text and CSV, zip, office documents, common audio and video.
DEFAULT_FILE_TYPES = (
    "image/png", "image/jpeg", "image/gif", "image/webp",
    "application/pdf", "text/plain", "text/csv", "application/zip",
    "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation", "application/rtf",
    "audio/mpeg", "audio/ogg", "audio/x-wav", "audio/mp4", "audio/x-flac", "audio/aac",
    "video/mp4", "video/webm", "video/quicktime",
)  # fmt: skip


class ChatSettings(TokenCheckSettings, GrpcServerSettings):
    """Every knob of chat_svc; see the configuration table in README.md."""

    model_config = SettingsConfigDict(env_prefix="CHAT_", extra="ignore")

    host: str = "0.0.0.0"
    port: int = Field(50052, ge=0, le=65535)
    # Prometheus metrics on a port of their own (common/metrics.py); `off` = not served.
    metrics_port: OptionalPort = 9102
    database_url: str = "sqlite:///var/chat.db"
    db_threads: int = Field(8, ge=1, le=64)
    # How long a transaction is retried through a database outage outside a call (in one: its deadline).
    db_retry_seconds: float = Field(4.0, ge=0, le=60)
    auth_address: str = "127.0.0.1:50051"
    max_message_chars: int = Field(MESSAGE_CHARS_DEFAULT, ge=1, le=16000)
    # Group commit: most sends stored in one transaction (sends queued while one commits share the next).
    send_batch_max: int = Field(256, ge=1, le=5000)
    # Group commit lanes: rooms split over this many queues, each committing one batch at a time.
    send_lanes: int = Field(2, ge=1, le=16)
    typing_ttl_seconds: float = Field(6.0, gt=0)
    stream_queue_events: int = Field(10_000, ge=10)
    stream_batch_events: int = Field(256, ge=1)
    replay_page: int = Field(500, ge=1, le=5000)
    # -- consent (docs/security.md "Consent: invitations and blocking") --
    # Rooms one user may belong to: creating, joining or accepting past it is refused.
    max_rooms_per_user: int = Field(1000, ge=1, le=100_000)
    # Pending invitations one user may have (from everyone), and from any one inviter.
    max_pending_invitations: int = Field(50, ge=1, le=1000)
    max_invitations_per_inviter: int = Field(5, ge=1, le=1000)
    # Most messages replayed per room on a resume; older ones are paged over ListMessages.
    replay_max_messages: int = Field(500, ge=1, le=100_000)
    # Several replicas: a Redis URL (redis://host:6379/0) whose stream carries events between them.
    # Unset: events stay in this process (one replica).
    broker_url: str | None = None
    broker_stream: str = Field("parley:events", min_length=1)
    broker_maxlen: int = Field(100_000, ge=1000)
    gap_wait_seconds: float = Field(0.25, gt=0, le=10)
    gap_sweep_seconds: float = Field(1.0, gt=0, le=60)
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    log_level: str = "INFO"
    # -- files (docs/search-and-files.md) --
    file_max_bytes: int = Field(25 * 1024 * 1024, ge=1, le=5 * 1024**3)
    # Media types a file may have, as sniffed from its bytes (never SVG or HTML: a browser runs their scripts).
    file_types: list[str] = Field(default_factory=lambda: list(DEFAULT_FILE_TYPES), min_length=1)
    file_store: Literal["folder", "s3"] = "folder"
    file_folder: str = "var/files"  # the folder store's files; with S3, where uploads spool on their way
    s3_endpoint_url: str | None = None  # unset: AWS S3 itself; MinIO, R2, GCS interop: their URL
    s3_bucket: str = "parley-files"
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None  # unset: boto3's own chain (environment, instance role)
    s3_secret_access_key: SecretStr | None = None
    s3_path_style: bool = True  # http://host/bucket/key, as MinIO wants; false: virtual-hosted
    # Unattached uploads and the files of deleted messages are removed for good after this long.
    file_grace_seconds: float = Field(86400.0, ge=0)
    file_sweep_seconds: float = Field(300.0, gt=0)
    thumbnail_pixels: int = Field(400, ge=16, le=2048)  # a thumbnail's longest side
    file_threads: int = Field(4, ge=1, le=64)  # worker threads for the blob store, hashing and thumbnails

    @field_validator("s3_endpoint_url", "s3_access_key_id", "s3_secret_access_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """An empty value (a Secret's key left blank) means unset: AWS's endpoint, boto3's credential chain."""
        return None if value == "" else value


@lru_cache
def get_settings() -> ChatSettings:
    """The settings, built on first use so that tests can set the environment first."""
    return ChatSettings()
