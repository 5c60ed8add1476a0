"""The response models describe exactly the dicts that edge_gateway.convert builds; no services needed."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel

from edge_gateway import convert, schemas
from parley.auth.v1 import auth_pb2
from parley.chat.v1 import chat_pb2 as pb

T = Timestamp(seconds=1_795_539_945, nanos=176_721_000)
ROOM = pb.Room(
    id=7,
    kind=pb.ROOM_KIND_DIRECT,
    name="",
    topic="t",
    created_by=1,
    created_at=T,
    last_seq=3,
    last_change=4,
    member_count=2,
    direct_user_ids=[1, 2],
)
MESSAGE = pb.Message(room_id=7, seq=3, change=4, sender_id=1, client_msg_id="c", body="hi", created_at=T, edited_at=T)

SHAPES: list[tuple[str, dict[str, Any], type[BaseModel]]] = [
    ("user", convert.user_json(auth_pb2.User(id=1, username="a", display_name="A", created_at=T)), schemas.User),
    ("session", convert.session_json(auth_pb2.Session(access_token="x", session_id="s")), schemas.Session),
    ("room", convert.room_json(ROOM), schemas.Room),
    (
        "my_room",
        convert.my_room_json(pb.MyRoom(room=ROOM, last_read_seq=1, unread_count=2, role=pb.MEMBER_ROLE_OWNER)),
        schemas.MyRoom,
    ),
    ("member", convert.member_json(pb.Member(user_id=2, role=pb.MEMBER_ROLE_MEMBER, joined_at=T)), schemas.Member),
    ("message", convert.message_json(MESSAGE), schemas.Message),
    ("message_never_edited", convert.message_json(pb.Message(room_id=7, seq=1, created_at=T)), schemas.Message),
]


@pytest.mark.parametrize(("shape", "model"), [(name, model) for name, _, model in SHAPES], ids=[s[0] for s in SHAPES])
def test_model_fields_are_the_dict_keys(shape: str, model: type[BaseModel]) -> None:
    """Each response model has exactly the keys of its convert dict, so OpenAPI matches the wire."""
    built = next(data for name, data, _ in SHAPES if name == shape)
    assert set(model.model_fields) == set(built)


@pytest.mark.parametrize(("data", "model"), [(data, model) for _, data, model in SHAPES], ids=[s[0] for s in SHAPES])
def test_convert_dicts_pass_through_the_models_unchanged(data: dict[str, Any], model: type[BaseModel]) -> None:
    """Validating a convert dict and dumping it back to JSON gives the same dict (no coercion, no loss)."""
    assert model.model_validate(data).model_dump(mode="json") == data


def test_room_kinds_and_roles_match_convert() -> None:
    """The documented enums are exactly the words convert writes."""
    assert set(get_args(schemas.RoomKind)) == set(convert.ROOM_KINDS.values())
    assert set(get_args(schemas.Role)) == set(convert.ROLES.values())
    assert set(get_args(schemas.CreateRoomBody.model_fields["kind"].annotation)) <= set(convert.KIND_VALUES)
