"""Fixtures for chat_svc tests.

Servicer tests: a ChatServicer under grpcio-testing on a migrated temp SQLite file, with a real
EventHub on the harness's background loop, real token verification against a throwaway Ed25519
key, and a fake user directory (auth_svc is the edge of chat_svc's world there).

Integration tests (marked mysql): real auth_svc and chat_svc processes on MySQL, started once per
session by `stack` (tests.support.stack) and stopped at the end.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
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
from tests.support.grpc_testing_adapter import AsyncServicerHarness, background_loop
from tests.support.stack import Stack as Stack

SERVICE = chat_pb2.DESCRIPTOR.services_by_name["ChatService"]

# Servicer-test settings: a small body limit, and no rate limit in the way unless a test asks.
TEST_SETTINGS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 0,
    "max_message_chars": 100,
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
    """Factory: a ChatServicer under grpcio-testing, with settings overrides (e.g. replay_max_messages=3)."""
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


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """auth_svc and chat_svc processes on fresh parley_test_chat_it_* MySQL databases, for the session."""
    started = Stack(tmp_path_factory.mktemp("chat-stack"))
    try:
        yield started.create_databases("parley_test_chat_it").up(gateways=0)
    finally:
        started.stop()
