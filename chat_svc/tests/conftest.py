"""Fixtures for chat_svc tests.

Servicer tests: a ChatServicer under grpcio-testing on a migrated temp SQLite file, with a real
EventHub on the harness's background loop, real token verification against a throwaway Ed25519
key, and a fake user directory (auth_svc is the edge of chat_svc's world there).

Integration tests (marked mysql): real auth_svc and chat_svc processes on MySQL, started once per
session by `stack` and stopped at the end.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from chat_svc.directory import UserDirectory
from chat_svc.events import EventHub
from chat_svc.server import build_servicer, migrate
from chat_svc.settings import ChatSettings
from chat_svc.tests.helpers import ALICE, BOB, CAROL, Caller, ChatHarness, FakeDirectory, TokenMint
from common.db import Database
from parley.chat.v1 import chat_pb2
from tests.support import mysql
from tests.support.grpc_testing_adapter import AsyncServicerHarness, background_loop
from tests.support.processes import ServiceProcess, run_command, start_service

SERVICE = chat_pb2.DESCRIPTOR.services_by_name["ChatService"]
SERVICE_SECRET = "a-long-enough-test-secret"

# Servicer-test settings: a small body limit, and no rate limit in the way unless a test asks.
TEST_SETTINGS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 0,
    "max_message_chars": 100,
    "send_rate_per_second": 1000.0,
    "send_burst": 1000,
    "typing_ttl_seconds": 5.0,
}


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A chat_db SQLite file migrated once; each harness works on its own copy."""
    path = tmp_path_factory.mktemp("chat-template") / "chat.db"
    migrate(ChatSettings(database_url=f"sqlite:///{path}"))
    return path


@pytest.fixture
def mint(tmp_path: Path) -> TokenMint:
    """Signs test access tokens; the servicer trusts its key."""
    return TokenMint(tmp_path / "keys")


@pytest.fixture
def make_chat(tmp_path: Path, mint: TokenMint, migrated_sqlite: Path) -> Iterator[Callable[..., ChatHarness]]:
    """Factory: a ChatServicer under grpcio-testing, with settings overrides (e.g. send_burst=3)."""
    built: list[tuple[ChatHarness, Callable[[], None]]] = []

    def make(**overrides: Any) -> ChatHarness:
        path = tmp_path / f"chat-{len(built)}.db"
        shutil.copyfile(migrated_sqlite, path)
        settings = ChatSettings(**{**TEST_SETTINGS, "database_url": f"sqlite:///{path}", **overrides})
        db = Database(settings.database_url, threads=4)
        loop, stop = background_loop()
        hub = EventHub(loop, settings.stream_queue_events)
        directory = FakeDirectory()
        servicer = build_servicer(settings, db, hub, mint.key_source(), cast(UserDirectory, directory))
        chat = ChatHarness(AsyncServicerHarness(SERVICE, servicer, loop), servicer, hub, db, mint, directory, settings)
        built.append((chat, stop))
        return chat

    yield make
    for chat, stop in built:
        chat.close()
        stop()
        chat.db.close()


@pytest.fixture
def chat(make_chat: Callable[..., ChatHarness]) -> ChatHarness:
    """The servicer with the default test settings."""
    return make_chat()


@pytest.fixture
def alice(chat: ChatHarness) -> Caller:
    """User 1."""
    return chat.user(ALICE)


@pytest.fixture
def bob(chat: ChatHarness) -> Caller:
    """User 2."""
    return chat.user(BOB)


@pytest.fixture
def carol(chat: ChatHarness) -> Caller:
    """User 3."""
    return chat.user(CAROL)


# -- real processes on MySQL ----------------------------------------------------------------------


@dataclass
class Stack:
    """Running auth_svc and chat_svc processes and how they were configured."""

    auth: ServiceProcess
    chat: ServiceProcess
    auth_env: dict[str, str]
    chat_env: dict[str, str]

    @property
    def chat_db_url(self) -> str:
        """The chat_db the chat process uses."""
        return self.chat_env["CHAT_DATABASE_URL"]


def auth_env(database_url: str, keys_dir: Path) -> dict[str, str]:
    """Environment of an auth_svc process on an ephemeral port."""
    return {
        "AUTH_PORT": "0",
        "AUTH_HOST": "127.0.0.1",
        "AUTH_DATABASE_URL": database_url,
        "AUTH_KEYS_DIR": str(keys_dir),
        "AUTH_SERVICE_CLIENTS": f'{{"edge_gateway":"{SERVICE_SECRET}"}}',
    }


def chat_env(database_url: str, auth_address: str) -> dict[str, str]:
    """Environment of a chat_svc process on an ephemeral port, with a send rate fit for load tests."""
    return {
        "CHAT_PORT": "0",
        "CHAT_HOST": "127.0.0.1",
        "CHAT_DATABASE_URL": database_url,
        "CHAT_AUTH_ADDRESS": auth_address,
        "CHAT_SEND_RATE_PER_SECOND": "100000",
        "CHAT_SEND_BURST": "100000",
        "CHAT_SHUTDOWN_GRACE_SECONDS": "5",
    }


def stop_all(*processes: ServiceProcess | None) -> None:
    """Stop the processes that were started, newest first."""
    for process in reversed(processes):
        if process is not None:
            process.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """auth_svc and chat_svc processes on fresh parley_test_chat_it* MySQL databases, for the session.

    The root `mysql_db` fixture is function-scoped, so this calls the same tests.support.mysql
    helper directly, with the same parley_test_ prefix. chat_db is migrated while auth_svc starts.
    """
    keys_dir = tmp_path_factory.mktemp("auth-keys")
    a_env = auth_env(mysql.fresh_database("parley_test_chat_it_auth"), keys_dir)
    chat_url = mysql.fresh_database("parley_test_chat_it")
    auth: ServiceProcess | None = None
    chat: ServiceProcess | None = None
    try:
        with ThreadPoolExecutor(2) as pool:
            chat_migrated = pool.submit(run_command, "chat_svc", "migrate", chat_env(chat_url, ""))
            run_command("auth_svc", "migrate", a_env)
            auth = start_service("auth_svc", a_env)
            chat_migrated.result()
        c_env = chat_env(chat_url, auth.address)
        chat = start_service("chat_svc", c_env)
        yield Stack(auth, chat, a_env, c_env)
    finally:
        stop_all(auth, chat)
