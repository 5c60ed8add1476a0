"""Fixtures for parleyctl's tests: a real stack (auth_svc, chat_svc, gateway on MySQL) and the command run
as a process against it, as an operator runs it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.support import mysql
from tests.support.stack import OPERATORS, Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """auth_svc, chat_svc and edge_gateway on fresh parley_test_ctl_* databases."""
    if mysql.unavailable_reason():
        pytest.skip(mysql.unavailable_reason() or "")
    started = Stack(tmp_path_factory.mktemp("ctl-stack"))
    try:
        yield started.create_databases("parley_test_ctl").up()
    finally:
        started.stop()


@dataclass
class Ran:
    """What one parleyctl run did."""

    code: int
    out: str
    err: str

    def json(self) -> list[dict[str, Any]]:
        """stdout's JSON lines."""
        return [orjson.loads(line) for line in self.out.splitlines() if line.strip()]


@dataclass
class Ctl:
    """parleyctl as a process, with the stack's targets and a client's credentials in its environment."""

    stack: Stack
    client: str | None = "operator"

    def __call__(self, *args: str, env: dict[str, str] | None = None, home: Path | None = None) -> Ran:
        """Run `parleyctl ARGS` and wait for it (HOME: `home`, so that no one's own config file is read)."""
        variables = {
            "PARLEYCTL_AUTH_TARGET": self.stack.auth_address,
            "PARLEYCTL_CHAT_TARGET": self.stack.chat_address,
            "HOME": str(home or "/nonexistent"),
            "PATH": "/usr/bin:/bin",
        }
        if self.client is not None:
            secret = OPERATORS[self.client]["secret"]
            variables |= {"PARLEYCTL_CLIENT_ID": self.client, "PARLEYCTL_CLIENT_SECRET": secret}
        done = subprocess.run(
            [sys.executable, "-m", "parleyctl", *args],
            env=variables | (env or {}),
            capture_output=True,
            text=True,
            timeout=60,
        )
        return Ran(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def ctl(stack: Stack) -> Ctl:
    """parleyctl as the "operator" service client (admin:read and admin:write)."""
    return Ctl(stack)
