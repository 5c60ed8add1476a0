"""AuthSettings: AUTH_* environment variables, their validation, and the refusal of weak secrets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsError

from auth_svc.settings import AuthSettings, get_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No AUTH_* variable from the outer environment, and no cached settings, leak into a test."""
    for name in list(os.environ):
        if name.upper().startswith("AUTH_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_defaults() -> None:
    """Without any variable, auth_svc listens on 0.0.0.0:50051 with SQLite and no service clients."""
    settings = AuthSettings()
    assert (settings.host, settings.port) == ("0.0.0.0", 50051)
    assert settings.database_url.startswith("sqlite:///")
    assert settings.service_clients == {}


def test_port_and_host_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """AUTH_PORT is parsed as an integer and AUTH_HOST taken as is."""
    monkeypatch.setenv("AUTH_PORT", "0")
    monkeypatch.setenv("AUTH_HOST", "127.0.0.1")
    settings = AuthSettings()
    assert settings.port == 0
    assert settings.host == "127.0.0.1"


@pytest.mark.parametrize("port", ["70000", "-1", "fifty"])
def test_bad_port_is_refused(monkeypatch: pytest.MonkeyPatch, port: str) -> None:
    """AUTH_PORT outside 0-65535 or not a number is a validation error naming the field."""
    monkeypatch.setenv("AUTH_PORT", port)
    with pytest.raises(ValidationError, match="port"):
        AuthSettings()


def test_other_variables_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Paths, booleans and numbers are parsed from their AUTH_* variables."""
    monkeypatch.setenv("AUTH_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("AUTH_GENERATE_KEY_IF_MISSING", "false")
    monkeypatch.setenv("AUTH_ACCESS_TOKEN_TTL_SECONDS", "60")
    monkeypatch.setenv("AUTH_SHUTDOWN_GRACE_SECONDS", "2.5")
    settings = AuthSettings()
    assert settings.keys_dir == tmp_path / "keys"
    assert settings.generate_key_if_missing is False
    assert settings.access_token_ttl_seconds == 60
    assert settings.shutdown_grace_seconds == 2.5


def test_service_clients_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """AUTH_SERVICE_CLIENTS is a JSON object of client id to secret."""
    monkeypatch.setenv("AUTH_SERVICE_CLIENTS", '{"edge_gateway": "0123456789abcdef", "tool": "fedcba9876543210xyz"}')
    clients = AuthSettings().service_clients
    assert sorted(clients) == ["edge_gateway", "tool"]
    assert clients["edge_gateway"].secret.get_secret_value() == "0123456789abcdef"


def test_service_secrets_stay_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings' repr (what ends up in logs) does not show service secrets."""
    monkeypatch.setenv("AUTH_SERVICE_CLIENTS", '{"edge_gateway": "0123456789abcdef"}')
    assert "0123456789abcdef" not in repr(AuthSettings())


def test_service_clients_that_are_not_json_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """AUTH_SERVICE_CLIENTS that is not JSON is an error, not an empty client list."""
    monkeypatch.setenv("AUTH_SERVICE_CLIENTS", "edge_gateway=0123456789abcdef")
    with pytest.raises(SettingsError):
        AuthSettings()


@pytest.mark.parametrize("secret", ["changeme", "secret", "password", "CHANGE-ME", "fifteen-chars!!", ""], ids=repr)
def test_placeholder_or_short_service_secret_is_refused(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    """A placeholder secret, or one under 16 characters, is refused and the client is named."""
    monkeypatch.setenv("AUTH_SERVICE_CLIENTS", f'{{"edge_gateway": "{secret}"}}')
    with pytest.raises(ValidationError, match="edge_gateway"):
        AuthSettings()


def test_sixteen_character_secret_is_accepted() -> None:
    """A secret of exactly 16 characters is enough."""
    secret = "0123456789abcdef"
    assert AuthSettings(service_clients={"tool": secret}).service_clients["tool"].secret.get_secret_value() == secret


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("refresh_token_ttl_seconds", 59),
        ("access_token_ttl_seconds", 29),
        ("db_threads", 0),
        ("login_free_attempts", 0),
        ("hash_threads", 0),
    ],
)
def test_limits_are_enforced(field: str, value: int) -> None:
    """Lifetimes, pool sizes and lockout limits below their minimum are refused."""
    with pytest.raises(ValidationError, match=field):
        AuthSettings.model_validate({field: value})


def test_get_settings_reads_the_env_on_first_use_and_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    """get_settings() reads the environment when first called, then answers the same object."""
    monkeypatch.setenv("AUTH_PORT", "6001")
    first = get_settings()
    monkeypatch.setenv("AUTH_PORT", "6002")
    assert first.port == 6001
    assert get_settings() is first
