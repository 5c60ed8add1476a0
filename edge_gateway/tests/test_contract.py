"""The OpenAPI document states the constraints the services enforce, exactly; no services needed.

The text rules are compared with the services' own rule functions over generated strings: a value the
document allows must be one the service accepts, and one it refuses must be refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from typing import Annotated, Any

import pytest
from hypothesis import given, settings, strategies as st
from pydantic import StringConstraints, TypeAdapter, ValidationError

from auth_svc import passwords
from chat_svc import rules as chat_rules
from common.errors import InvalidArgument
from edge_gateway import rules
from edge_gateway.app import create_app
from edge_gateway.schemas import INT64_MAX
from edge_gateway.settings import GatewaySettings

BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
ID_PARAMETERS = {"room_id", "user_id", "seq", "after", "before", "ids"}


@cache
def document() -> dict[str, Any]:
    """The gateway's OpenAPI document, as /api/v1/openapi.json serves it."""
    return create_app(GatewaySettings(client_secret="contract-test-secret-0123456789")).openapi()


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _property(model: str, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document()["components"]["schemas"][model]["properties"][name]
    return schema


def test_numeric_bounds_are_exact_integers() -> None:
    """No bound in the document is a float: 2^63-1 as a float is 2^63, which the gateway refuses."""
    floats = [(key, node[key]) for node in _walk(document()) for key in BOUNDS if isinstance(node.get(key), float)]
    assert floats == []


def _id_schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in document()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["name"] in ID_PARAMETERS:
                    schema = parameter["schema"]
                    schema = schema.get("items", schema)
                    yield f"{method.upper()} {path} {parameter['name']}", schema.get("anyOf", [schema])[0]
    components = document()["components"]["schemas"]
    yield "UserRef.user_id", components["UserRef"]["properties"]["user_id"]
    yield "CreateRoomBody.member_ids", components["CreateRoomBody"]["properties"]["member_ids"]["items"]
    yield "MarkReadBody.seq", components["MarkReadBody"]["properties"]["seq"]


def test_every_id_and_seq_is_an_int64() -> None:
    """Each id and seq in paths, queries and bodies is an int64: at most 2^63-1, with format int64."""
    schemas = dict(_id_schemas())
    assert len(schemas) >= 15, sorted(schemas)
    wrong = {
        where: schema
        for where, schema in schemas.items()
        if (schema.get("maximum"), schema.get("format")) != (INT64_MAX, "int64")
    }
    assert wrong == {}


@pytest.mark.parametrize(
    ("where", "maximum"),
    [
        (("/api/v1/rooms/public", "limit"), rules.PAGE_MAX),
        (("/api/v1/rooms/{room_id}/messages", "limit"), rules.PAGE_MAX),
        (("/api/v1/rooms/{room_id}/members", "limit"), rules.MEMBERS_PAGE_MAX),
        (("/api/v1/rooms/public", "query"), rules.ROOM_NAME_MAX),
        (("/api/v1/users", "ids"), rules.BATCH_USERS_MAX),
    ],
)
def test_query_limits_are_the_services(where: tuple[str, str], maximum: int) -> None:
    """Page sizes, the search text and the id batch are bounded by the services' maxima, not by int32."""
    path, name = where
    parameter = next(p for p in document()["paths"][path]["get"]["parameters"] if p["name"] == name)
    schema = parameter["schema"]
    assert maximum in (schema.get("maximum"), schema.get("maxLength"), schema.get("maxItems"))


# -- text: the document's verdict is the service's ---------------------------------------------------------------

Accepts = Callable[[str], object]


def _refuses(accepts: Accepts, value: str) -> bool:
    try:
        accepts(value)
    except InvalidArgument:
        return True
    return False


@cache
def _documented(model: str, name: str) -> TypeAdapter[str]:
    """A validator for exactly what the document says of the field (Rust regexes, as in ECMA-262)."""
    schema = _property(model, name)
    constraints = StringConstraints(
        min_length=schema.get("minLength"), max_length=schema.get("maxLength"), pattern=schema.get("pattern")
    )
    return TypeAdapter(Annotated[str, constraints])


# Characters the rules turn on, mixed into otherwise arbitrary text.
SPECIAL = list(" \t\n\r\x0b\x0c\x1c\x1f\x00\x7f\x85\xa0\u1680\u2000\u2028\u202f\u3000\u200b\u00ad\ufeff\U0001d173")
SPECIAL += list("aZ09_.-~\u212a\u0130é")
TEXT = st.text(st.sampled_from(SPECIAL) | st.characters(codec="utf-8"), max_size=90)
PADDED = st.builds(
    lambda pad, core, end: pad + core + end, st.text(" \t\n", max_size=3), TEXT, st.text(" \n", max_size=3)
)
# Each limit, and one past it, bare and padded with whitespace the services trim.
LENGTHS = [3, 32, 33, 64, 65, 80, 81, 128, 129, 250, 251, 256, 257, 1024, 1025, 4000, 4001]
BOUNDARIES = [edge for n in LENGTHS for edge in ("x" * n, f" {'x' * n} ", f"\n{'x' * (n - 2)}\t")]


RULES: dict[str, tuple[str, str, Accepts, int]] = {
    "username": ("RegisterBody", "username", passwords.check_username, 256),
    "password": ("RegisterBody", "password", lambda value: passwords.check_password(value, "-"), 1024),
    "display_name": ("RegisterBody", "display_name", lambda value: passwords.check_display_name(value, "abc"), 1024),
    "room_name": ("CreateRoomBody", "name", chat_rules.room_name, 1024),
    "topic": ("CreateRoomBody", "topic", chat_rules.topic, 4096),
    "client_msg_id": ("SendMessageBody", "client_msg_id", chat_rules.client_msg_id, 1024),
    "message_body": (
        "SendMessageBody",
        "body",
        lambda value: chat_rules.message_body(value, rules.MESSAGE_CHARS_DEFAULT),
        100_000,
    ),
}


@pytest.mark.parametrize("rule", sorted(RULES))
@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(value=PADDED | TEXT | st.sampled_from(["", " ", "abc", "  abc  ", "abc\n", *BOUNDARIES]))
def test_document_and_service_agree_on_text(rule: str, value: str) -> None:
    """The document allows a text value exactly when the service (and the gateway's cap) accepts it."""
    model, name, accepts, cap = RULES[rule]
    try:
        _documented(model, name).validate_python(value)
        documented = True
    except ValidationError:
        documented = False
    served = len(value) <= cap and not _refuses(accepts, value)  # the gateway's own cap on the field, then the rule
    assert documented == served, (rule, value)
