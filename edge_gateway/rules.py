"""The services' input rules, written as JSON Schema keywords for the OpenAPI document.

auth_svc and chat_svc own these rules and enforce them with their own messages (a 400 that people
see); the gateway does not check them a second time. The document states each one exactly, so that
a request the document allows is one the services accept, and one it refuses they refuse too: the
patterns follow the services' trimming and their Unicode categories, computed from the same
unicodedata they use. The numbers themselves live in common/limits.py, shared with the services.

Patterns use only \\uXXXX escapes (the same in ECMA-262, Python and Rust regexes) and, beyond the
BMP, the characters themselves.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from pydantic.config import JsonDict

from common.limits import (  # re-exported: the numbers are written once, in common/limits.py
    BATCH_USERS_MAX as BATCH_USERS_MAX,
    CLIENT_MSG_ID_MAX as CLIENT_MSG_ID_MAX,
    DISPLAY_NAME_MAX as DISPLAY_NAME_MAX,
    EMOJI_CHARS_MAX as EMOJI_CHARS_MAX,
    FILE_ID_CHARS as FILE_ID_CHARS,
    FILE_NAME_MAX as FILE_NAME_MAX,
    FILES_PER_MESSAGE as FILES_PER_MESSAGE,
    INVITES_MAX as INVITES_MAX,
    MEMBERS_PAGE_DEFAULT as MEMBERS_PAGE_DEFAULT,
    MEMBERS_PAGE_MAX as MEMBERS_PAGE_MAX,
    MESSAGE_CHARS_DEFAULT as MESSAGE_CHARS_DEFAULT,
    PAGE_DEFAULT as PAGE_DEFAULT,
    PAGE_MAX as PAGE_MAX,
    PASSWORD_MAX as PASSWORD_MAX,
    PASSWORD_MIN as PASSWORD_MIN,
    ROOM_NAME_MAX as ROOM_NAME_MAX,
    ROOMS_PAGE_DEFAULT as ROOMS_PAGE_DEFAULT,
    ROOMS_PAGE_MAX as ROOMS_PAGE_MAX,
    SEARCH_PAGE_DEFAULT as SEARCH_PAGE_DEFAULT,
    SEARCH_PAGE_MAX as SEARCH_PAGE_MAX,
    SEARCH_QUERY_MAX as SEARCH_QUERY_MAX,
    TOPIC_MAX as TOPIC_MAX,
    USERNAME_MAX as USERNAME_MAX,
    USERNAME_MIN as USERNAME_MIN,
)


def _char_class(chars: Iterable[str], negated: bool = False) -> str:
    """A regex character class of these characters, written as ranges."""
    ranges: list[list[int]] = []
    for point in sorted({ord(ch) for ch in chars}):
        if ranges and point == ranges[-1][1] + 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])

    def text(point: int) -> str:
        return f"\\u{point:04x}" if point <= 0xFFFF else chr(point)

    body = "".join(text(a) if a == b else f"{text(a)}-{text(b)}" for a, b in ranges)
    return f"[{'^' if negated else ''}{body}]"


def _special_characters() -> tuple[list[str], list[str], list[str]]:
    """(control Cc, format Cf, whitespace as str.strip() and str.isspace() mean it).

    Planes 0 and 1 and the start of plane 14 hold them all (planes 2-13 are ideographs or unassigned,
    plane 14's assignments end at E01EF, 15-16 are private use): scanning only those keeps the import
    quick. Surrogates (Cs) are left out: the gateway refuses a string that holds one (422).
    """
    control, format_, space = [], [], []
    for point in (*range(0x20000), *range(0xE0000, 0xE1000)):
        ch = chr(point)
        kind = unicodedata.category(ch)
        if kind == "Cc":
            control.append(ch)
        elif kind == "Cf":
            format_.append(ch)
        if ch.isspace():
            space.append(ch)
    return control, format_, space


_CONTROL, _FORMAT, _SPACE = _special_characters()
_S = _char_class(_SPACE)  # what the services trim off


def _trimmed(banned: list[str], most: int, required: bool) -> str:
    """A pattern for text that is trimmed first, then is at most `most` characters without `banned` ones."""
    edge = _char_class(banned + _SPACE, negated=True)
    inner = _char_class(banned, negated=True)
    core = f"{edge}(?:{inner}{{0,{most - 2}}}{edge})?"
    return f"^{_S}*{core if required else f'(?:{core})?'}{_S}*$"


# Trimmed and lower-cased (ASCII only: the Kelvin sign names nobody), then 3-32 of a-z, 0-9, '_', '.', '-', not
# starting with '.' or '-'.
USERNAME: JsonDict = {
    "pattern": f"^{_S}*[A-Za-z0-9_][A-Za-z0-9_.-]{{{USERNAME_MIN - 1},{USERNAME_MAX - 1}}}{_S}*$",
}
# Not only whitespace (and not the username, which no schema can say).
PASSWORD: JsonDict = {
    "minLength": PASSWORD_MIN,
    "maxLength": PASSWORD_MAX,
    "pattern": _char_class(_SPACE, negated=True),
}
# Trimmed (empty means the username), then at most 64 characters, none a control or format character.
DISPLAY_NAME: JsonDict = {"pattern": _trimmed(_CONTROL + _FORMAT, DISPLAY_NAME_MAX, required=False)}
# Trimmed, then 1-80 characters without control characters.
ROOM_NAME: JsonDict = {"minLength": 1, "pattern": _trimmed(_CONTROL, ROOM_NAME_MAX, required=True)}
# Trimmed, then at most 250 characters without control characters.
TOPIC: JsonDict = {"pattern": _trimmed(_CONTROL, TOPIC_MAX, required=False)}
# Not blank, at most CHAT_MAX_MESSAGE_CHARS; newline and tab are the only control characters allowed.
_BODY_CONTROL = [ch for ch in _CONTROL if ch not in "\n\t"]
MESSAGE_BODY: JsonDict = {
    "minLength": 1,
    "maxLength": MESSAGE_CHARS_DEFAULT,
    "pattern": (
        f"^{_char_class(_BODY_CONTROL, negated=True)}*{_char_class(_BODY_CONTROL + _SPACE, negated=True)}"
        f"{_char_class(_BODY_CONTROL, negated=True)}*$"
    ),
}
# 1-64 printable ASCII characters.
CLIENT_MSG_ID: JsonDict = {
    "minLength": 1,
    "maxLength": CLIENT_MSG_ID_MAX,
    "pattern": f"^[ -~]{{1,{CLIENT_MSG_ID_MAX}}}$",
}
# A refresh token is never empty (logout: 400, refresh: 401).
REFRESH_TOKEN: JsonDict = {"minLength": 1}


# -- search ----------------------------------------------------------------------------------------


def _word_characters() -> list[str]:
    """What chat_svc's word rule (chat_svc/words.py) keeps in a word: letters, digits, marks, private use.

    Planes 0-3 and the start of plane 14 are scanned; 4-13 are unassigned, and 15-16 are private use
    (Co) but for their last two code points.
    """
    found = []
    for point in (*range(0x40000), *range(0xE0000, 0xE1000)):
        kind = unicodedata.category(chr(point))
        if kind[0] in "LNM" or kind == "Co":
            found.append(chr(point))
    return found + [chr(p) for plane in (0xF0000, 0x100000) for p in range(plane, plane + 0xFFFE)]


# 1-200 characters with at least one word in them (punctuation and operators alone find nothing).
SEARCH_QUERY: JsonDict = {
    "minLength": 1,
    "maxLength": SEARCH_QUERY_MAX,
    "pattern": _char_class(_word_characters()),
}
