"""Search: the caller's messages found by their words (docs/search-and-files.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from google.protobuf.timestamp_pb2 import Timestamp

from edge_gateway import convert, rules
from edge_gateway.deps import BackendsDep, CallerDep
from edge_gateway.schemas import INT64_FORMAT, INT64_MAX, SearchPage, error_responses
from parley.chat.v1 import chat_pb2 as pb

router = APIRouter(tags=["search"], responses=error_responses(400, 401, 403, 404, 422, 500, 503, 504))

OptionalId = Annotated[int, Query(ge=0, le=INT64_MAX, json_schema_extra=INT64_FORMAT)]
When = Annotated[datetime | None, Query(description="RFC 3339 time; without an offset, UTC")]


@router.get("/search", response_model=SearchPage, summary="Search the caller's messages")
async def search(
    backends: BackendsDep,
    caller: CallerDep,
    q: Annotated[
        str,
        Query(
            max_length=1000,
            description=f"Words to find, 1-{rules.SEARCH_QUERY_MAX} characters: a message matches when it has every"
            " word (the last may be the start of one); punctuation is ignored",
            json_schema_extra=rules.SEARCH_QUERY,
        ),
    ],
    room_id: Annotated[OptionalId, Query(description="Only this room (the caller's); 0 = all the caller's rooms")] = 0,
    sender_id: Annotated[OptionalId, Query(description="Only this sender's messages; 0 = anyone's")] = 0,
    since: Annotated[When, Query(description="Only messages stored at or after this time")] = None,
    until: Annotated[When, Query(description="Only messages stored before this time")] = None,
    page_token: Annotated[str, Query(max_length=200, description="next_page_token of the previous page")] = "",
    limit: Annotated[
        int,
        Query(ge=0, le=rules.SEARCH_PAGE_MAX, description=f"Page size (0 = the default, {rules.SEARCH_PAGE_DEFAULT})"),
    ] = 0,
) -> dict[str, Any]:
    """Newest first, each message once across pages; deleted messages are never found, edited ones by their
    current text. 400: no words, too long, or a page_token this search did not give; 403/404: room_id is not
    one of the caller's rooms."""
    request = pb.SearchMessagesRequest(
        query=q, room_id=room_id, sender_id=sender_id, page_token=page_token, limit=limit
    )
    if since is not None:
        request.since.CopyFrom(_stamp(since, "since"))
    if until is not None:
        request.until.CopyFrom(_stamp(until, "until"))
    reply = await backends.chat.SearchMessages(request, metadata=caller.metadata, timeout=backends.timeout)
    return convert.search_json(reply)


def _stamp(at: datetime, name: str) -> Timestamp:
    """A Timestamp of a time (UTC when it has no offset); a time outside years 1-9999 in UTC is a 422."""
    stamp = Timestamp()
    try:
        stamp.FromDatetime(at if at.tzinfo is not None else at.replace(tzinfo=UTC))
        stamp.ToDatetime()  # in range once in UTC
    except (OverflowError, ValueError):
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", name), "msg": "the time must fall in years 1-9999 in UTC"}]
        ) from None
    return stamp
