"""Where parleyctl connects and as whom: each setting from its flag, else its PARLEYCTL_* variable, else
the config file (TOML; --config, PARLEYCTL_CONFIG, or ~/.config/parleyctl/config.toml), else its default.

    # the file scripts/run writes for the local stack (var/parleyctl.toml)
    auth_target = "127.0.0.1:50051"
    chat_target = "127.0.0.1:50052"
    client_id = "parleyctl"
    client_secret = "..."

Credentials are a service client's id and secret (AUTH_SERVICE_CLIENTS, with the admin scopes), or an
admin user's access token (`token`).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parleyctl.client import Credentials, ServiceCredentials, StaticToken

DEFAULT_FILE = Path("~/.config/parleyctl/config.toml")
# setting: (its PARLEYCTL_ variable, default)
SETTINGS: dict[str, tuple[str, str]] = {
    "auth_target": ("PARLEYCTL_AUTH_TARGET", "127.0.0.1:50051"),
    "chat_target": ("PARLEYCTL_CHAT_TARGET", "127.0.0.1:50052"),
    "client_id": ("PARLEYCTL_CLIENT_ID", ""),
    "client_secret": ("PARLEYCTL_CLIENT_SECRET", ""),
    "token": ("PARLEYCTL_TOKEN", ""),
    "timeout": ("PARLEYCTL_TIMEOUT", "10"),
}


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Config:
    """The resolved settings."""

    auth_target: str
    chat_target: str
    client_id: str
    client_secret: str
    token: str
    timeout: float

    def credentials(self) -> Credentials:
        """A token, or a service client's credentials; ConfigError when neither is given."""
        if self.token:
            return StaticToken(self.token)
        if self.client_id and self.client_secret:
            return ServiceCredentials(self.client_id, self.client_secret)
        raise ConfigError(
            "no credentials: give --client-id and --client-secret (a service client with the admin scopes), "
            "or --token (an admin user's access token); or the same in PARLEYCTL_* variables or the config file"
        )


def load(flags: dict[str, Any], config_file: str | None, env: dict[str, str] | None = None) -> Config:
    """The settings from the flags given (None: not given), the environment and the file."""
    env = dict(os.environ) if env is None else env
    explicit = config_file or env.get("PARLEYCTL_CONFIG")
    path = Path(explicit or DEFAULT_FILE).expanduser()
    from_file: dict[str, Any] = {}
    if path.is_file():
        try:
            from_file = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        unknown = sorted(set(from_file) - set(SETTINGS))
        if unknown:
            raise ConfigError(f"{path}: unknown settings {', '.join(unknown)} (known: {', '.join(SETTINGS)})")
    elif explicit:
        raise ConfigError(f"no config file at {path}")
    values: dict[str, str] = {}
    for name, (variable, default) in SETTINGS.items():
        given = flags.get(name)
        values[name] = str(given if given is not None else env.get(variable, from_file.get(name, default)))
    try:
        timeout = float(values["timeout"])
    except ValueError:
        raise ConfigError(f"timeout must be a number of seconds, not {values['timeout']!r}") from None
    if not 0 < timeout <= 600:
        raise ConfigError("timeout must be more than 0 and at most 600 seconds")
    return Config(
        values["auth_target"],
        values["chat_target"],
        values["client_id"],
        values["client_secret"],
        values["token"],
        timeout,
    )
