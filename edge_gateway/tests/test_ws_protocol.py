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
    """Each kind of chat_svc event, as the proto's Event.kind oneof lists them, maps to a frame type."""
    kinds = [field.name for field in pb.Event.DESCRIPTOR.oneofs_by_name["kind"].fields]
    types = {kind: (p.event_frame(_event_of_kind(kind)) or {}).get("type") for kind in kinds}
    # Frames are named after their event kind, except a new message's ("message") and a reaction's ("reaction").
    renamed = {"message_created": "message", "reaction_changed": "reaction"}
    assert types == {kind: renamed.get(kind, kind) for kind in kinds}


def _event_of_kind(kind: str) -> pb.Event:
    """An event of room 1 whose `kind` oneof holds an empty message of that kind."""
    event = pb.Event(room_id=1)
    getattr(event, kind).SetInParent()
    assert event.WhichOneof("kind") == kind
    return event


# -- reactions and moderation --


@pytest.mark.parametrize(
    ("event", "position"),
    [
        (pb.Event(room_id=1, reaction_changed=pb.ReactionChanged(seq=3, change=9)), (0, 9)),
        (pb.Event(room_id=1, message_updated=pb.Message(seq=3, change=8)), (0, 8)),
        (pb.Event(room_id=1, role_changed=pb.RoleChanged(member=pb.Member(user_id=2, role_change=7))), (0, 0)),
        (pb.Event(room_id=1, room_updated=pb.Room(id=1, settings_change=6)), (0, 0)),
    ],
    ids=["reaction", "message_updated", "role_changed", "room_updated"],
)
def test_changes_move_the_change_position_and_snapshots_none(event: pb.Event, position: tuple[int, int]) -> None:
    """A reaction and a replayed message state move the socket's change position; role and room snapshots do not."""
    assert p.event_position(event) == position
