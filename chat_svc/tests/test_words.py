"""The word rule of search, alone: what a word is, how words compare, a query's words, highlights."""

from __future__ import annotations

import pytest

from chat_svc import words
from common.errors import InvalidArgument


def test_a_word_is_letters_digits_and_marks() -> None:
    """Punctuation, spaces, `_` and emoji separate words; combining marks stay inside (Hindi, decomposed é)."""
    text = "foo_bar, 42x! हिन्दी e\u0301cole 😀ok"
    assert [text[a:b] for a, b in words.spans(text)] == ["foo", "bar", "42x", "हिन्दी", "e\u0301cole", "ok"]


def test_words_compare_without_case_or_accents() -> None:
    """Café, CAFE and a decomposed café fold alike."""
    assert words.fold("Café") == words.fold("CAFE") == words.fold("cafe\u0301") == "cafe"


def test_a_query_keeps_each_word_once_and_the_last_typed_last() -> None:
    """Repeats are dropped (case-insensitively); the last word typed is the prefix even when it came earlier."""
    assert words.terms("deploy Friday deploy").words == ("Friday", "deploy")
    assert words.terms('"+alpha" -beta*').words == ("alpha", "beta")


@pytest.mark.parametrize("query", ["", "   ", '+-"*()~<>@', "x" * 201])
def test_a_query_without_words_or_too_long_is_refused(query: str) -> None:
    """No words, blank, or over 200 characters: InvalidArgument."""
    with pytest.raises(InvalidArgument):
        words.terms(query)


def test_highlights_mark_whole_words_and_the_prefix() -> None:
    """Exact words and words starting with the last query word, in order, as code point ranges."""
    body = "👍 Release the release-notes, really"
    assert [body[a:b] for a, b in words.highlights(body, words.terms("notes re"))] == [
        "Release",
        "release",
        "notes",
        "really",
    ]
