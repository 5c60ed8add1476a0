"""The rules for usernames, passwords and display names, checked through Register (SQLite)."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy import Engine

from auth_svc.tests.helpers import PASSWORD, register, user_count
from parley.auth.v1 import auth_pb2 as pb
from tests.support.grpc_testing_adapter import AsyncServicerHarness

BAD_USERNAMES = {
    "too short": "ab",
    "too long": "a" * 33,
    "space inside": "al ice",
    "bad character": "alice!",
    "non-ASCII letter": "alicé",
    "leading dot": ".alice",
    "leading dash": "-alice",
    "empty": "",
}


@pytest.mark.parametrize("username", BAD_USERNAMES.values(), ids=BAD_USERNAMES.keys())
def test_bad_username_is_invalid_argument(harness: AsyncServicerHarness, engine: Engine, username: str) -> None:
    """A username outside the rules is INVALID_ARGUMENT, says the rule, and stores nothing."""
    _, code, details = harness.invoke_unary("Register", pb.RegisterRequest(username=username, password=PASSWORD))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "username must be 3-32 characters" in details
    assert user_count(engine) == 0


GOOD_USERNAMES = {
    "shortest": "abc",
    "longest": "a" * 32,
    "dots dashes underscores": "a.b-c_d",
    "leading underscore": "_alice",
    "digits": "2024",
}


def test_the_username_room_is_reserved(harness: AsyncServicerHarness) -> None:
    """Nobody may be called `room`, in any case: `@room` mentions everyone in a room."""
    _, code, details = harness.invoke_unary("Register", pb.RegisterRequest(username="Room", password=PASSWORD))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details == "the username 'room' is reserved: @room mentions everyone in a room"


@pytest.mark.parametrize("username", GOOD_USERNAMES.values(), ids=GOOD_USERNAMES.keys())
def test_username_at_the_edges_of_the_rules_is_accepted(harness: AsyncServicerHarness, username: str) -> None:
    """Usernames right at the limits of the rules are accepted as they are."""
    assert register(harness, username).user.username == username


def test_username_is_trimmed_and_lower_cased(harness: AsyncServicerHarness) -> None:
    """Surrounding spaces are dropped and the name is stored in lower case."""
    assert register(harness, "  Mixed.Case  ").user.username == "mixed.case"


BAD_PASSWORDS = {
    "too short": ("short77", "8-128 characters"),
    "too long": ("p" * 129, "8-128 characters"),
    "only whitespace": (" " * 12, "only whitespace"),
    "the username": ("CarolCarol", "not be the username"),
    "the username with spaces": (" carolcarol ", "not be the username"),
}


@pytest.mark.parametrize(("password", "message"), BAD_PASSWORDS.values(), ids=BAD_PASSWORDS.keys())
def test_bad_password_is_invalid_argument(
    harness: AsyncServicerHarness, engine: Engine, password: str, message: str
) -> None:
    """A password outside the rules is INVALID_ARGUMENT, says which rule, and stores nothing."""
    _, code, details = harness.invoke_unary("Register", pb.RegisterRequest(username="carolcarol", password=password))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message in details
    assert user_count(engine) == 0


@pytest.mark.parametrize("password", ["p" * 8, "p" * 128], ids=["8 characters", "128 characters"])
def test_password_at_the_length_limits_is_accepted(harness: AsyncServicerHarness, password: str) -> None:
    """Passwords of exactly 8 and exactly 128 characters are accepted, and sign in."""
    register(harness, "dave", password)
    _, code, details = harness.invoke_unary("Login", pb.LoginRequest(username="dave", password=password))
    assert code == grpc.StatusCode.OK, details


BAD_DISPLAY_NAMES = {
    "too long": ("n" * 65, "at most 64 characters"),
    "newline": ("Eve\nAdmin", "control characters"),
    "NUL": ("Eve\x00", "control characters"),
    "right-to-left override": ("Eve\u202egnp.exe", "control characters"),
}


@pytest.mark.parametrize(("display_name", "message"), BAD_DISPLAY_NAMES.values(), ids=BAD_DISPLAY_NAMES.keys())
def test_bad_display_name_is_invalid_argument(
    harness: AsyncServicerHarness, engine: Engine, display_name: str, message: str
) -> None:
    """A display name that is too long or holds control characters is INVALID_ARGUMENT, stores nothing."""
    request = pb.RegisterRequest(username="eve", password=PASSWORD, display_name=display_name)
    _, code, details = harness.invoke_unary("Register", request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message in details
    assert user_count(engine) == 0


def test_display_name_of_64_characters_with_unicode_is_accepted(harness: AsyncServicerHarness) -> None:
    """A 64-character display name with accents and emoji is stored as given."""
    name = "Zoë 🎉 " + "x" * 58
    assert len(name) == 64
    assert register(harness, "zoe", display_name=name).user.display_name == name


def test_display_name_is_trimmed(harness: AsyncServicerHarness) -> None:
    """Spaces around a display name are dropped."""
    assert register(harness, "frank", display_name="  Frank Castle  ").user.display_name == "Frank Castle"


def test_blank_display_name_defaults_to_the_username(harness: AsyncServicerHarness) -> None:
    """A display name of only spaces falls back to the username."""
    assert register(harness, "Grace", display_name="   ").user.display_name == "grace"


def test_rejected_registration_leaves_the_name_free(harness: AsyncServicerHarness, engine: Engine) -> None:
    """After a refused Register, the same username registers fine with valid input."""
    _, code, _ = harness.invoke_unary("Register", pb.RegisterRequest(username="heidi", password="short"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    register(harness, "heidi")
    assert user_count(engine) == 1
