"""Input rules for rooms and messages: one place, one clear message per broken rule."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import emoji

from common import paging
from common.errors import InvalidArgument, NotFound
from common.limits import (  # re-exported: the numbers are written once, in common/limits.py
    CLIENT_MSG_ID_MAX as CLIENT_MSG_ID_MAX,
    EMOJI_CHARS_MAX as EMOJI_CHARS_MAX,
    FILE_ID_CHARS as FILE_ID_CHARS,
    FILE_NAME_MAX as FILE_NAME_MAX,
    FILES_PER_MESSAGE as FILES_PER_MESSAGE,
    INVITES_MAX as INVITES_MAX,
    MEMBERS_PAGE_DEFAULT as MEMBERS_PAGE_DEFAULT,
    MEMBERS_PAGE_MAX as MEMBERS_PAGE_MAX,
    PAGE_DEFAULT as PAGE_DEFAULT,
    PAGE_MAX as PAGE_MAX,
    ROOM_NAME_MAX as ROOM_NAME_MAX,
    ROOMS_PAGE_DEFAULT as ROOMS_PAGE_DEFAULT,
    ROOMS_PAGE_MAX as ROOMS_PAGE_MAX,
    TOPIC_MAX as TOPIC_MAX,
)

MAX_CURSORS = 10_000  # per StreamEvents call


def _has_control(text: str, allow_newlines: bool = False) -> bool:
    allowed = {"\n", "\t"} if allow_newlines else set()
    return any(unicodedata.category(ch) in {"Cc", "Cs"} and ch not in allowed for ch in text)


def room_name(raw: str) -> str:
    """A trimmed room name of 1-80 characters without control characters."""
    name = raw.strip()
    if not name:
        raise InvalidArgument("room name must not be empty")
    if len(name) > ROOM_NAME_MAX:
        raise InvalidArgument(f"room name must be at most {ROOM_NAME_MAX} characters")
    if _has_control(name):
        raise InvalidArgument("room name must not contain control characters")
    return name


def topic(raw: str) -> str:
    """A trimmed topic of at most 250 characters."""
    text = raw.strip()
    if len(text) > TOPIC_MAX:
        raise InvalidArgument(f"topic must be at most {TOPIC_MAX} characters")
    if _has_control(text):
        raise InvalidArgument("topic must not contain control characters")
    return text


def message_body(raw: str, max_chars: int, may_be_empty: bool = False) -> str:
    """A message body: not blank, at most max_chars characters, newlines and tabs allowed.

    may_be_empty: the message attaches files, so "" (no caption) is fine.
    """
    if may_be_empty and raw == "":
        return raw
    if not raw.strip():
        raise InvalidArgument("message body must not be empty")
    if len(raw) > max_chars:
        raise InvalidArgument(f"message body is {len(raw)} characters; the limit is {max_chars}")
    if _has_control(raw, allow_newlines=True):
        raise InvalidArgument("message body must not contain control characters other than newline and tab")
    return raw


def client_msg_id(raw: str) -> str:
    """A client message id: 1-64 printable ASCII characters."""
    if not raw:
        raise InvalidArgument("client_msg_id is required: a unique id per message, reused on retry")
    if len(raw) > CLIENT_MSG_ID_MAX or not raw.isascii() or not raw.isprintable():
        raise InvalidArgument(f"client_msg_id must be 1-{CLIENT_MSG_ID_MAX} printable ASCII characters")
    return raw


def invitees(member_ids: Iterable[int], owner_id: int) -> list[int]:
    """The other users to invite to a new room, distinct and ascending: at most 100."""
    others = sorted(set(member_ids) - {owner_id})
    if len(others) > INVITES_MAX:
        raise InvalidArgument(f"invite at most {INVITES_MAX} users when creating a room")
    return others


def direct_peer(other_id: int, user_id: int) -> int:
    """The other user of a direct conversation: a user id that is not the caller's."""
    if other_id <= 0 or other_id == user_id:
        raise InvalidArgument("user_id must be another user's id")
    return other_id


def room_id(value: int) -> int:
    """A positive room id."""
    if value <= 0:
        raise InvalidArgument("room_id must be a positive id")
    return value


def page_size(value: int, default: int = PAGE_DEFAULT, maximum: int = PAGE_MAX, field: str = "limit") -> int:
    """A page size: 0 means the default; otherwise 1..maximum (common/paging.py, with chat's defaults)."""
    return paging.page_size(value, default, maximum, field)


# -- operators (ModerationService) -----------------------------------------------------------------

ROOM_IDS_MAX = 100  # FindRooms' room_ids
TAIL_ROOMS_MAX = 1000  # TailEvents' room_ids


page_token = paging.page_token  # the id a page token names (0: the first page)


def ids(values: Iterable[int], field: str, maximum: int) -> list[int]:
    """Distinct positive ids, ascending, at most `maximum`."""
    found = sorted(set(values))
    if len(found) > maximum:
        raise InvalidArgument(f"{field} may name at most {maximum} ids")
    if found and found[0] <= 0:
        raise InvalidArgument(f"{field} must be positive ids")
    return found


# -- threads and mentions --------------------------------------------------------------------------


def thread_root(root_seq: int, also_in_room: bool) -> int:
    """A send's thread root: 0 (the main timeline) or a positive seq; also_in_room needs a root."""
    if root_seq < 0:
        raise InvalidArgument("thread_root_seq must not be negative (0 = the main timeline)")
    if also_in_room and not root_seq:
        raise InvalidArgument("also_in_room needs a thread_root_seq: it sends a reply to the room too")
    return root_seq


# -- reactions and moderation --


def reaction_emoji(raw: str) -> str:
    """One emoji grapheme as the emoji library knows it (skin tones, ZWJ sequences), at most 16 code points."""
    if len(raw) > EMOJI_CHARS_MAX or not emoji.is_emoji(raw):
        shown = raw if len(raw) <= EMOJI_CHARS_MAX else raw[:EMOJI_CHARS_MAX] + "…"
        raise InvalidArgument(f"{shown!r} is not an emoji; react with exactly one emoji, such as 👍")
    return raw


# -- files --


def file_name(raw: str) -> str:
    """A file's name: its last path part (either slash), control and format characters removed, trimmed;
    at most 255 characters. A name with nothing left (empty, "/", "..") is called "file"."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Cs"}).strip()
    if not name or name in {".", ".."}:
        return "file"
    if len(name) > FILE_NAME_MAX:
        raise InvalidArgument(f"a file name is at most {FILE_NAME_MAX} characters; this one has {len(name)}")
    return name


def file_ids(raw: Iterable[str]) -> tuple[str, ...]:
    """A send's files: at most 10 distinct ids, in the order given."""
    ids = tuple(raw)
    if len(ids) > FILES_PER_MESSAGE:
        raise InvalidArgument(f"attach at most {FILES_PER_MESSAGE} files to one message")
    if len(set(ids)) != len(ids):
        raise InvalidArgument("a file is attached to a message at most once")
    for file_id in ids:
        if len(file_id) != FILE_ID_CHARS or not file_id.isascii() or not _is_token(file_id):
            raise NotFound(f"no file {file_id[:40]!r}; upload it first")
    return ids


def _is_token(text: str) -> bool:
    return all(ch.isalnum() or ch in "-_" for ch in text)
