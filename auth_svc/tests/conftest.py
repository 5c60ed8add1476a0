"""Fixtures for auth_svc tests: settings on a temp SQLite file, a migrated database, a harness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from auth_svc.keys import Keyring
from auth_svc.server import build_servicers, migrate
from auth_svc.settings import AuthSettings
from common.db import Database, make_engine
from parley.auth.v1 import auth_pb2
from tests.support.grpc_testing_adapter import AsyncServicerHarness, background_loop

SERVICE = auth_pb2.DESCRIPTOR.services_by_name["AuthService"]
SERVICE_SECRET = "a-long-enough-test-secret"


@pytest.fixture
def auth_settings(tmp_path: Path) -> AuthSettings:
    """Settings for a throwaway auth_svc on SQLite with its own key folder."""
    return AuthSettings(
        database_url=f"sqlite:///{tmp_path / 'auth.db'}",
        keys_dir=tmp_path / "keys",
        port=0,
        host="127.0.0.1",
        service_clients={"edge_gateway": SERVICE_SECRET},
        login_free_attempts=3,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )


@pytest.fixture
def harness(auth_settings: AuthSettings) -> Iterator[AsyncServicerHarness]:
    """AuthServicer under grpcio-testing, on a migrated SQLite database."""
    migrate(auth_settings)
    db = Database(auth_settings.database_url, threads=4)
    loop, stop = background_loop()
    try:
        yield AsyncServicerHarness(SERVICE, build_servicers(auth_settings, db)[0], loop)
    finally:
        stop()
        db.close()


@pytest.fixture
def engine(auth_settings: AuthSettings, harness: AsyncServicerHarness) -> Iterator[Engine]:
    """A second engine on the harness's database, to look at (or tamper with) the stored rows."""
    engine = make_engine(auth_settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def keyring(auth_settings: AuthSettings, harness: AsyncServicerHarness) -> Keyring:
    """The keyring the harness's servicer signs with (it created the key on start)."""
    return Keyring.load(auth_settings.keys_dir)
