"""The word rule of search: what a word is, how words compare, and where a query's words are in a body.

No I/O. One rule serves both sides, so a query can only ever say "these words": a query is cut into
words here and the database is handed those words alone (quoted, or with the one operator search
adds), never the user's text; and highlights are found with the same rule in the stored body.

A word is a run of letters, digits and combining marks (Unicode categories L*, N*, M*, and private
use Co): what SQLite's unicode61 tokenizer keeps, and close to InnoDB's default parser (which also
keeps `_` inside a word). Words compare case-insensitively and without diacritics ("Café" = "cafe"),
as unicode61 with remove_diacritics and MySQL's *_ci collations compare them.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from common.errors import InvalidArgument
from common.limits import SEARCH_QUERY_MAX as QUERY_MAX_CHARS


@functools.lru_cache(maxsize=65536)
def _in_word(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] in "LNM" or category == "Co"


@functools.lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """A word as search compares it: lower case, diacritics removed."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn"))


def spans(text: str) -> Iterator[tuple[int, int]]:
    """[start, end) of each word of text, in code points (a Python str index is one)."""
    start = -1
    for i, ch in enumerate(text):
        if _in_word(ch):
            if start < 0:
                start = i
        elif start >= 0:
            yield start, i
            start = -1
    if start >= 0:
        yield start, len(text)


@dataclass(frozen=True)
class Terms:
    """A query's words, in order and once each; the last one also matches as the start of a word.

    `words` keep the user's spelling (each database folds them its own way); `folded` compare.
    """

    words: tuple[str, ...]

    @property
    def folded(self) -> tuple[str, ...]:
        """The words as they compare."""
        return tuple(fold(w) for w in self.words)

    @property
    def key(self) -> str:
        """What identifies the query (page tokens are bound to it)."""
        return " ".join(self.folded)


def terms(query: str) -> Terms:
    """The words of a search query (1-200 characters, at least one word), or InvalidArgument."""
    if not query.strip():
        raise InvalidArgument("query must not be empty: give a word to search for")
    if len(query) > QUERY_MAX_CHARS:
        raise InvalidArgument(f"query is {len(query)} characters; the limit is {QUERY_MAX_CHARS}")
    found = [query[start:end] for start, end in spans(query)]
    if not found:
        raise InvalidArgument("query has no words (letters or digits) to search for; punctuation is ignored")
    last = found[-1]  # the word being typed: matched as a prefix, so it stays last
    seen: dict[str, str] = {}
    for word in found[:-1]:
        if fold(word) != fold(last):
            seen.setdefault(fold(word), word)
    return Terms((*seen.values(), last))


def highlights(body: str, wanted: Terms) -> list[tuple[int, int]]:
    """[start, end) of the body's words that the query asked for (the last query word: as a prefix)."""
    folded = wanted.folded
    exact, prefix = set(folded[:-1]), folded[-1]
    found = []
    for start, end in spans(body):
        word = fold(body[start:end])
        if word in exact or word.startswith(prefix):
            found.append((start, end))
    return found
