"""The WebSocket protocol's frame parsing and event frames, without a socket."""

from __future__ import annotations

import json

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


TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_a_frames_traceparent_is_kept() -> None:
    """A well-formed W3C traceparent on a command frame is parsed into the frame."""
    assert p.parse(orjson.dumps({"type": "ping", "traceparent": TRACEPARENT}), LIMIT).traceparent == TRACEPARENT


@pytest.mark.parametrize(
    "value", ["", "not-a-trace", TRACEPARENT.upper(), TRACEPARENT + "-" + "x" * 100, 5, None, ["00"], {"a": 1}]
)
def test_a_bad_traceparent_is_ignored_not_refused(value: object) -> None:
    """A malformed, oversized or non-string traceparent is dropped and the frame still parses."""
    frame = p.parse(orjson.dumps({"type": "ping", "ref": "r", "traceparent": value}), LIMIT)
    assert (frame.type, frame.ref, frame.traceparent) == ("ping", "r", None)


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
    # Frames are named after their event kind, except a new message's ("message"), a reaction's ("reaction")
    # and an invitation's ("invitation").
    renamed = {"message_created": "message", "reaction_changed": "reaction", "invitation_changed": "invitation"}
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


# -- integer bounds: the REST ones (edge_gateway/schemas.py Id and Seq), for every integer of every frame --

INT64_MAX = 2**63 - 1
# (frame without the field, the field, the smallest value it takes); the other fields valid.
INTEGER_FIELDS: list[tuple[dict[str, object], str, int]] = [
    ({"type": "send", "client_msg_id": "c", "body": "hi"}, "room_id", 1),
    ({"type": "send", "room_id": 1, "client_msg_id": "c", "body": "hi"}, "thread_root_seq", 0),
    ({"type": "typing"}, "room_id", 1),
    ({"type": "read", "seq": 1}, "room_id", 1),
    ({"type": "read", "room_id": 1}, "seq", 0),
    ({"type": "react", "seq": 1, "emoji": "👍", "add": True}, "room_id", 1),
    ({"type": "react", "room_id": 1, "emoji": "👍", "add": True}, "seq", 1),
]
FIELD_IDS = [f"{frame['type']}.{name}" for frame, name, _ in INTEGER_FIELDS]


def _with(frame: dict[str, object], name: str, value: object) -> str:
    return json.dumps({**frame, "ref": "r1", name: value})  # json, not orjson: it writes integers beyond 64 bits


def _cursor_frame(name: str, value: object) -> str:
    cursor = {"room_id": 1, name: value}
    return json.dumps({"type": "auth", "ref": "r1", "token": "t", "cursors": [cursor]})


@pytest.mark.parametrize(("frame", "name", "smallest"), INTEGER_FIELDS, ids=FIELD_IDS)
@pytest.mark.parametrize(
    "value",
    [2**63, 2**64, 10**30, -1, -(2**63) - 1, True, False, 1.5, "x", None, [1], {"n": 1}],
    ids=["2^63", "2^64", "10^30", "-1", "-2^63-1", "true", "false", "1.5", "string", "null", "list", "object"],
)
def test_an_integer_out_of_bounds_or_of_another_type_is_refused(
    frame: dict[str, object], name: str, smallest: int, value: object
) -> None:
    """Every integer of a frame is refused beyond int64, below its least value, and as a bool, float or other type."""
    with pytest.raises(p.ProtocolError) as caught:
        p.parse(_with(frame, name, value), LIMIT)
    assert name in caught.value.message and caught.value.ref == "r1"


@pytest.mark.parametrize(("frame", "name", "smallest"), INTEGER_FIELDS, ids=FIELD_IDS)
def test_an_integer_takes_int64_max_and_its_least_value(frame: dict[str, object], name: str, smallest: int) -> None:
    """2^63-1 and the field's least value (0 or 1) parse, as over REST; so does an integral float."""
    for value in (INT64_MAX, smallest, float(smallest)):
        assert getattr(p.parse(_with(frame, name, value), LIMIT), name) == value
    if smallest == 1:
        with pytest.raises(p.ProtocolError):
            p.parse(_with(frame, name, 0), LIMIT)


@pytest.mark.parametrize("name", ["room_id", "after_seq", "after_change"])
@pytest.mark.parametrize("value", [2**63, 2**64, -1, True, 1.5], ids=["2^63", "2^64", "-1", "true", "1.5"])
def test_a_cursor_is_bounded_like_the_rest(name: str, value: object) -> None:
    """A resume cursor's room id, seq and change are int64 and not bools, as everywhere else."""
    with pytest.raises(p.ProtocolError, match=name):
        p.parse(_cursor_frame(name, value), LIMIT)


def test_a_cursor_takes_int64_max() -> None:
    """A cursor at 2^63-1 parses (chat_svc answers it: nothing missed)."""
    frame = p.parse(_cursor_frame("after_seq", INT64_MAX), LIMIT)
    assert isinstance(frame, AuthFrame) and frame.cursors[0].after_seq == INT64_MAX


def test_the_integer_types_are_the_rest_ones() -> None:
    """Frames and REST bodies share one rule per integer: the same JSON schema for a room id and a seq."""
    from edge_gateway.schemas import MarkReadBody, SendMessageBody
    from edge_gateway.ws.frames import ReadFrame, SendFrame

    def schema(model: type[object], field: str) -> object:
        properties = model.model_json_schema()["properties"]  # type: ignore[attr-defined]
        return {k: v for k, v in properties[field].items() if k not in ("description", "default")}

    assert schema(ReadFrame, "seq") == schema(MarkReadBody, "seq")
    assert schema(SendFrame, "thread_root_seq") == schema(SendMessageBody, "thread_root_seq")
    assert schema(SendFrame, "body") == schema(SendMessageBody, "body")


@pytest.mark.parametrize(
    ("field", "value"),
    [("body", "x" * 100_001), ("client_msg_id", "c" * 65), ("token", "t" * 4097), ("ref", "r" * 65)],
)
def test_huge_strings_are_refused(field: str, value: str) -> None:
    """A body, client_msg_id, token or ref over its cap is refused, even when the frame fits in the byte limit."""
    frames = {
        "body": {"type": "send", "room_id": 1, "client_msg_id": "c", "body": value},
        "client_msg_id": {"type": "send", "room_id": 1, "client_msg_id": value, "body": "hi"},
        "token": {"type": "reauth", "token": value},
        "ref": {"type": "ping", "ref": value},
    }
    with pytest.raises(p.ProtocolError) as caught:
        p.parse(orjson.dumps(frames[field]).decode(), 1 << 20)
    assert field in caught.value.message
    assert caught.value.ref is None or len(caught.value.ref) <= 64  # an error frame never echoes an oversized ref
