"""Mentions in a message body: which `@username`s and whether `@room`. Pure parsing, no I/O.

The rules (docs/conversations.md): a mention is `@` and a name by the username rule (3-32 of a-z,
0-9, `_`, `.`, `-`, not starting with `.` or `-`), in any case, where the `@` does not follow a
letter, a digit, another `@` or a `.` (so `bob@example.com` mentions nobody); a trailing `.` or `-`
is punctuation ("thanks @bob."). `@room` names everyone. At most MENTIONS_MAX distinct usernames
are read from one message; the rest stay text. service.py resolves the names with auth_svc and
messages.py keeps the members.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from common.limits import MENTION_ROOM as ROOM, MENTIONS_MAX, USERNAME_MAX, USERNAME_MIN

# Not after a letter or digit (any script), "@" or "."; then as many name characters as follow.
_MENTION = re.compile(r"(?<![^\W_])(?<![@.])@([A-Za-z0-9_][A-Za-z0-9_.-]*)")
_USERNAME = re.compile(rf"[a-z0-9_][a-z0-9_.-]{{{USERNAME_MIN - 1},{USERNAME_MAX - 1}}}")


@dataclass(frozen=True, slots=True)
class Mentions:
    """What a body mentions: usernames (lower case, distinct, in order of appearance) and @room."""

    usernames: tuple[str, ...] = ()
    room: bool = False

    def __bool__(self) -> bool:
        return bool(self.usernames) or self.room


NONE = Mentions()


def parse(body: str) -> Mentions:
    """The mentions in a message body."""
    if "@" not in body:
        return NONE
    names: dict[str, None] = {}  # ordered, distinct
    room = False
    for match in _MENTION.finditer(body):
        name = match.group(1).rstrip(".-").lower()
        if not _USERNAME.fullmatch(name):
            continue  # too short or too long for a username: plain text
        if name == ROOM:
            room = True
        elif len(names) < MENTIONS_MAX:
            names[name] = None
    return Mentions(tuple(names), room)
