"""Search: a member's messages found by their words, newest first, a keyset page at a time.

Blocking: runs on the Database's worker threads. The words are cut by words.py (so a query can
only ask for words); repository.search_messages holds each engine's match and filters by
membership in the query itself. A page token is the last hit's (created_at, room_id, seq), bound to
the query and filters that produced it: reused with another query, or altered, it is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta

from chat_svc import access, repository, rules, words
from chat_svc.domain import Message
from common.db import Database
from common.errors import InvalidArgument
from common.limits import SEARCH_PAGE_DEFAULT, SEARCH_PAGE_MAX

_TOKEN = struct.Struct(">BqQQ8s")  # version, created_at in µs since the epoch, room_id, seq, fingerprint
_VERSION = 1
_EPOCH = datetime(1970, 1, 1)
_ONE_MICRO = timedelta(microseconds=1)


@dataclass(frozen=True)
class Hit:
    """A message found, with where the query's words are in its body ([start, end) code points)."""

    message: Message
    highlights: tuple[tuple[int, int], ...]


class Search:
    """Finds messages by their words over one chat_db."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._index: repository.WordIndex | None = None  # the engine's word rules, read once

    def find(self, wanted: repository.Wanted, query: str, page_token: str, limit: int) -> tuple[list[Hit], str]:
        """A page of hits, newest first, and the token of the next page ("" when this is the last)."""
        terms = words.terms(query)
        size = rules.page_size(limit, SEARCH_PAGE_DEFAULT, SEARCH_PAGE_MAX)
        _check(wanted)
        bound = _fingerprint(terms, wanted)
        after = _read_token(page_token, bound) if page_token else None
        with self._db.sessions() as s:
            if wanted.room_id:
                access.member_room(s, wanted.room_id, wanted.user_id)
            if self._index is None:
                self._index = repository.word_index(s)
            rows = repository.search_messages(s, terms, self._index, wanted, after, size + 1)
            found = repository.seen_by(s, wanted.user_id, repository.messages_of(s, rows[:size]))
        hits = [Hit(m, tuple(words.highlights(m.body, terms))) for m in found]
        more = len(rows) > size
        return hits, _token(found[-1], bound) if more else ""


def _check(wanted: repository.Wanted) -> None:
    if wanted.room_id < 0:
        raise InvalidArgument("room_id must be a positive id (0 = all your rooms)")
    if wanted.sender_id < 0:
        raise InvalidArgument("sender_id must be a positive id (0 = anyone)")
    if wanted.since is not None and wanted.until is not None and wanted.since >= wanted.until:
        raise InvalidArgument("since must be before until")


def _fingerprint(terms: words.Terms, wanted: repository.Wanted) -> bytes:
    """What a page token is bound to: the query's words and the filters."""
    parts = [terms.key, wanted.user_id, wanted.room_id, wanted.sender_id, _micros(wanted.since), _micros(wanted.until)]
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()


def _micros(at: datetime | None) -> int | None:
    return None if at is None else (at - _EPOCH) // _ONE_MICRO


def _token(last: Message, bound: bytes) -> str:
    packed = _TOKEN.pack(_VERSION, _micros(last.created_at), last.room_id, last.seq, bound)
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


def _read_token(token: str, bound: bytes) -> repository.SearchKey:
    """The keyset position a token holds, or InvalidArgument for one this search did not give."""
    try:
        packed = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        version, micros, room_id, seq, fingerprint = _TOKEN.unpack(packed)
        at = _EPOCH + micros * _ONE_MICRO
    except (ValueError, binascii.Error, struct.error, OverflowError):  # not base64, wrong length, out of range
        version, fingerprint = 0, b""
    if version != _VERSION or fingerprint != bound:
        raise InvalidArgument("page_token is not one this search returned; search again without it")
    return at, room_id, seq
