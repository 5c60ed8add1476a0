"""The WebSocket protocol's frame parsing and event frames, without a socket."""

from __future__ import annotations

import orjson
import pytest

from edge_gateway.ws import protocol as p
from edge_gateway.ws.frames import AuthFrame
from parley.chat.v1 import chat_pb2 as pb

LIMIT = 1024


def test_auth_frame_with_cursors_parses() -> None:
    """An auth frame carries its token and resume cursors."""
    frame = p.parse('{"type":"auth","token":"t","cursors":[{"room_id":3,"after_seq":7}]}', LIMIT)
    assert isinstance(frame, AuthFrame)
    assert frame.cursors[0].room_id == 3 and frame.cursors[0].after_seq == 7 and frame.cursors[0].after_change == 0


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ("not json", "not valid JSON"),
        ("[1,2]", "JSON object"),
        ('{"type":"shout"}', "unknown frame type 'shout'"),
        ('{"body":"x"}', "unknown frame type None"),
        ('{"type":"send","room_id":1,"body":"x"}', "client_msg_id"),
        ('{"type":"send","room_id":0,"client_msg_id":"a","body":"x"}', "room_id"),
        ('{"type":"read","room_id":1,"seq":-1}', "seq"),
        ('{"type":"ping","extra":1}', "extra"),
    ],
)
def test_bad_frames_get_a_message_that_says_why(data: str, fragment: str) -> None:
    """Malformed, unknown or invalid frames raise ProtocolError naming the problem."""
    with pytest.raises(p.ProtocolError) as caught:
        p.parse(data, LIMIT)
    assert fragment in caught.value.message


def test_oversized_frame_is_refused_before_parsing() -> None:
    """A frame over the byte limit is refused with its size and the limit."""
    with pytest.raises(p.ProtocolError, match="the limit is 1024"):
        p.parse('{"type":"ping","ref":"' + "x" * 2000 + '"}', LIMIT)


def test_ref_is_kept_on_errors_when_readable() -> None:
    """An invalid frame with a ref gets its ref back in the error."""
    with pytest.raises(p.ProtocolError) as caught:
        p.parse('{"type":"send","ref":"r9","room_id":1}', LIMIT)
    assert caught.value.ref == "r9"


def test_message_event_frame_has_the_message_json() -> None:
    """A message_created event becomes a message frame with seq, body and null edited_at."""
    event = pb.Event(room_id=4, message_created=pb.Message(room_id=4, seq=9, change=11, sender_id=2, body="hi"))
    frame = p.event_frame(event)
    assert frame is not None
    assert frame["type"] == "message" and frame["message"]["seq"] == 9 and frame["message"]["edited_at"] is None
    assert orjson.loads(p.encode(frame)) == frame


def test_every_event_kind_has_a_frame() -> None:
    """Each kind of chat_svc event maps to a frame type a browser understands."""
    kinds = {
        "message_created": pb.Event(room_id=1, message_created=pb.Message(seq=1)),
        "message_edited": pb.Event(room_id=1, message_edited=pb.Message(seq=1)),
        "message_deleted": pb.Event(room_id=1, message_deleted=pb.Message(seq=1, deleted=True)),
        "typing": pb.Event(room_id=1, typing=pb.Typing(user_id=2)),
        "member_joined": pb.Event(room_id=1, member_joined=pb.Membership(user_id=2)),
        "member_left": pb.Event(room_id=1, member_left=pb.Membership(user_id=2)),
        "read_marker": pb.Event(room_id=1, read_marker=pb.ReadMarker(user_id=2, last_read_seq=3)),
        "room_updated": pb.Event(room_id=1, room_updated=pb.Room(id=1, kind=pb.ROOM_KIND_PUBLIC)),
    }
    types = {kind: (p.event_frame(event) or {}).get("type") for kind, event in kinds.items()}
    assert types == {
        "message_created": "message",
        "message_edited": "message_edited",
        "message_deleted": "message_deleted",
        "typing": "typing",
        "member_joined": "member_joined",
        "member_left": "member_left",
        "read_marker": "read_marker",
        "room_updated": "room_updated",
    }
