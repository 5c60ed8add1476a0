"""Keyset paging's two input rules, shared by every service's paged calls: the page size and the token.

A page token is the last id of the page before (never an OFFSET); services hand it out as a string
and take it back as it came.
"""

from __future__ import annotations

from common.errors import InvalidArgument

TOKEN_DIGITS_MAX = 19  # an int64 id


def page_size(value: int, default: int, maximum: int, field: str = "limit") -> int:
    """A page size: 0 means the default; otherwise 1..maximum."""
    if value == 0:
        return default
    if not 1 <= value <= maximum:
        raise InvalidArgument(f"{field} must be between 1 and {maximum}")
    return value


def page_token(token: str) -> int:
    """The id a page token names (0: the first page); InvalidArgument for a token this service did not give."""
    if not token:
        return 0
    if not token.isdigit() or len(token) > TOKEN_DIGITS_MAX:
        raise InvalidArgument("page_token is not one this service gave; pass next_page_token back as it came")
    return int(token)
