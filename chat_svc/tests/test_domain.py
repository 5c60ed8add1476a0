"""The service layer's enums name the same numbers as the proto's."""

from __future__ import annotations

from enum import IntEnum

import pytest

from chat_svc.domain import MemberRole, RoomKind
from parley.chat.v1 import chat_pb2 as pb


@pytest.mark.parametrize(
    ("ours", "theirs", "prefix"), [(RoomKind, pb.RoomKind, "ROOM_KIND_"), (MemberRole, pb.MemberRole, "MEMBER_ROLE_")]
)
def test_each_domain_enum_has_every_proto_value_under_its_number(
    ours: type[IntEnum], theirs: object, prefix: str
) -> None:
    """Every value of the proto enum but UNSPECIFIED is a member of ours with the same name and number."""
    descriptor = theirs.DESCRIPTOR  # type: ignore[attr-defined]
    expected = {v.name.removeprefix(prefix): v.number for v in descriptor.values if v.number}
    assert {m.name: m.value for m in ours} == expected
