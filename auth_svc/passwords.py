"""Password hashing (argon2 via passlib, on its own bounded pool) and the rules for usernames, passwords and names."""

from __future__ import annotations

import asyncio
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor

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

USERNAME_RE = re.compile(rf"[a-z0-9_][a-z0-9_.-]{{{USERNAME_MIN - 1},{USERNAME_MAX - 1}}}")

# passlib's argon2 defaults (argon2id, 3 passes, 64 MiB): the hashes made before these were settings.
DEFAULT_TIME_COST, DEFAULT_MEMORY_KIB = 3, 65536


class Hasher:
    """argon2 hashing and verification on a pool of its own.

    A flood of sign-ins then queues here, `threads` hashes at a time (each holding `memory_kib` of
    memory), and cannot take the database's worker threads from other calls. The cost lives in each
    hash, so hashes made with other parameters keep verifying (and are upgraded on the next sign-in).
    """

    def __init__(
        self, threads: int = 2, time_cost: int = DEFAULT_TIME_COST, memory_kib: int = DEFAULT_MEMORY_KIB
    ) -> None:
        # argon2 only: passlib's bcrypt backend breaks with bcrypt >= 4.1 and truncates at 72 bytes.
        self._context = CryptContext(
            schemes=["argon2"], deprecated="auto", argon2__rounds=time_cost, argon2__memory_cost=memory_kib
        )
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")
        # What an unknown (or malformed) username is checked against, so that it takes as long to
        # refuse as a wrong password.
        self._dummy = self._context.hash("not-a-real-password-just-for-timing")

    async def hash(self, password: str) -> str:
        """The argon2 hash of a password."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._context.hash, password)

    async def verify(self, password: str, stored: str | None) -> tuple[bool, str | None]:
        """(matches, a new hash when the stored one has outdated parameters); `stored` None: spend the time, False."""
        loop = asyncio.get_running_loop()
        if stored is None:
            await loop.run_in_executor(self._pool, self._context.verify, password, self._dummy)
            return False, None
        ok, new_hash = await loop.run_in_executor(self._pool, self._context.verify_and_update, password, stored)
        return bool(ok), new_hash

    def close(self) -> None:
        """Stop the pool's threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def normalize_username(raw: str) -> str:
    """The stored form of a username: trimmed, lower case."""
    return raw.strip().lower()


def well_formed_username(raw: str) -> str | None:
    """The normalized username when it keeps the username rule, else None.

    Checked before lower-casing: str.lower() maps some non-ASCII letters to ASCII ones (the Kelvin
    sign to "k"), and such a spelling must not name an account.
    """
    trimmed = raw.strip()
    name = trimmed.lower()
    return name if trimmed.isascii() and USERNAME_RE.fullmatch(name) else None


def check_username(username: str) -> str:
    """The normalized username, or InvalidArgument saying what is wrong."""
    name = well_formed_username(username)
    if name is None:
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
