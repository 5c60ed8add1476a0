"""Password hashing (argon2 via passlib) and the rules for usernames, passwords and names."""

from __future__ import annotations

import re
import unicodedata

from passlib.context import CryptContext

from common.errors import InvalidArgument
from common.limits import (  # re-exported: the numbers are written once, in common/limits.py
    DISPLAY_NAME_MAX as DISPLAY_NAME_MAX,
    MENTION_ROOM,
    PASSWORD_MAX as PASSWORD_MAX,
    PASSWORD_MIN as PASSWORD_MIN,
    USERNAME_MAX,
    USERNAME_MIN,
)

# argon2 only: passlib's bcrypt backend breaks with bcrypt >= 4.1 and truncates at 72 bytes.
hasher = CryptContext(schemes=["argon2"], deprecated="auto")

USERNAME_RE = re.compile(rf"[a-z0-9_][a-z0-9_.-]{{{USERNAME_MIN - 1},{USERNAME_MAX - 1}}}")

# A hash to verify against when the user does not exist, so that an unknown user takes as long
# to refuse as a wrong password.
DUMMY_HASH = hasher.hash("not-a-real-password-just-for-timing")


def normalize_username(raw: str) -> str:
    """The stored form of a username: trimmed, lower case."""
    return raw.strip().lower()


def check_username(username: str) -> str:
    """The normalized username, or InvalidArgument saying what is wrong."""
    name = normalize_username(username)
    if not USERNAME_RE.fullmatch(name):
        raise InvalidArgument(
            "username must be 3-32 characters of a-z, 0-9, '_', '.' or '-', not starting with '.' or '-'"
        )
    if name == MENTION_ROOM:
        raise InvalidArgument(f"the username {MENTION_ROOM!r} is reserved: @{MENTION_ROOM} mentions everyone in a room")
    return name


def check_password(password: str, username: str) -> None:
    """InvalidArgument when the password breaks the rules."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidArgument(f"password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters long")
    if not password.strip():
        raise InvalidArgument("password must not be only whitespace")
    if password.strip().lower() == username:
        raise InvalidArgument("password must not be the username")


def check_display_name(display_name: str, username: str) -> str:
    """The trimmed display name (the username when empty), or InvalidArgument."""
    name = display_name.strip() or username
    if len(name) > DISPLAY_NAME_MAX:
        raise InvalidArgument(f"display name must be at most {DISPLAY_NAME_MAX} characters")
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs"} for ch in name):
        raise InvalidArgument("display name must not contain control characters")
    return name
