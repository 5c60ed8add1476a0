"""SearchMessages over gRPC: hits with highlights, pages, and each refusal's status code."""

from __future__ import annotations

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from chat_svc.tests.helpers import Caller
from parley.chat.v1 import chat_pb2 as pb

Code = grpc.StatusCode


def search(caller: Caller, query: str, **fields: object) -> tuple[pb.SearchMessagesResponse, Code, str]:
    """(response, code, details) of a SearchMessages call."""
    return caller.call("SearchMessages", pb.SearchMessagesRequest(query=query, **fields))  # type: ignore[arg-type]


def test_hits_carry_the_message_and_code_point_highlights(alice: Caller, bob: Caller) -> None:
    """A hit is the message as ListMessages gives it, with [start, end) ranges of the words found."""
    room = alice.create_room("plans", pb.ROOM_KIND_PRIVATE, [bob.user_id])
    sent = bob.send(room.id, "👋 see the roadmap, Roadmap v2")
    response, code, _ = search(alice, "roadmap")
    assert code == Code.OK
    (hit,) = response.hits
    assert hit.message == sent
    assert [(r.start, r.end) for r in hit.highlights] == [(10, 17), (19, 26)]
    assert response.next_page_token == ""


def test_a_page_token_leads_to_the_older_hits(alice: Caller) -> None:
    """limit=2 over three hits: two, a token, then the oldest and no token."""
    room = alice.create_room()
    for n in range(3):
        alice.send(room.id, f"build {n} passed")
    first, _, _ = search(alice, "build", limit=2)
    assert [h.message.seq for h in first.hits] == [3, 2] and first.next_page_token
    second, _, _ = search(alice, "build", limit=2, page_token=first.next_page_token)
    assert [h.message.seq for h in second.hits] == [1] and second.next_page_token == ""


def test_refusals_have_clear_codes(alice: Caller, bob: Caller) -> None:
    """No words, a bad token, a bad limit: INVALID_ARGUMENT; another's room: PERMISSION_DENIED; no room: NOT_FOUND."""
    theirs = bob.create_room("theirs", pb.ROOM_KIND_PRIVATE)
    cases: list[tuple[str, dict[str, object], Code, str]] = [
        ('+-"*()~<>@', {}, Code.INVALID_ARGUMENT, "no words"),
        ("", {}, Code.INVALID_ARGUMENT, "empty"),
        ("word", {"page_token": "not-a-token"}, Code.INVALID_ARGUMENT, "page_token"),
        ("word", {"limit": 51}, Code.INVALID_ARGUMENT, "limit"),
        ("word", {"room_id": theirs.id}, Code.PERMISSION_DENIED, "not a member"),
        ("word", {"room_id": 10**9}, Code.NOT_FOUND, "does not exist"),
        ("word", {"since": Timestamp(seconds=20), "until": Timestamp(seconds=10)}, Code.INVALID_ARGUMENT, "since"),
    ]
    for query, fields, expected, words in cases:
        _, code, details = search(alice, query, **fields)
        assert (code, words in details) == (expected, True), (query, fields, details)
