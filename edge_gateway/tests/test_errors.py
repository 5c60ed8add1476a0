"""The gRPC -> HTTP and gRPC -> WebSocket close code tables, and the OpenAPI document; no services needed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI
from grpc import aio

from edge_gateway import errors
from edge_gateway.app import create_app
from edge_gateway.settings import GatewaySettings

# The Connect protocol's table, written out independently of errors.HTTP_STATUS.
EXPECTED_HTTP = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}
# What the client must do, per docs/protocol.md "Close codes": 1013 reconnect with backoff, 1011
# reconnect, 4001 sign in again, 4003 refresh the token.
EXPECTED_CLOSE = {
    grpc.StatusCode.OK: 1000,
    grpc.StatusCode.CANCELLED: 1013,
    grpc.StatusCode.UNKNOWN: 1011,
    grpc.StatusCode.INVALID_ARGUMENT: 1011,
    grpc.StatusCode.DEADLINE_EXCEEDED: 1013,
    grpc.StatusCode.NOT_FOUND: 1011,
    grpc.StatusCode.ALREADY_EXISTS: 1011,
    grpc.StatusCode.PERMISSION_DENIED: 1013,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 1013,
    grpc.StatusCode.FAILED_PRECONDITION: 1011,
    grpc.StatusCode.ABORTED: 1013,
    grpc.StatusCode.OUT_OF_RANGE: 1011,
    grpc.StatusCode.UNIMPLEMENTED: 1011,
    grpc.StatusCode.INTERNAL: 1011,
    grpc.StatusCode.UNAVAILABLE: 1013,
    grpc.StatusCode.DATA_LOSS: 1011,
    grpc.StatusCode.UNAUTHENTICATED: 4001,
}
EXPECTED_CLOSE_BY_REASON = {
    (grpc.StatusCode.UNAUTHENTICATED, errors.Reason.TOKEN_EXPIRED): 4003,
    (grpc.StatusCode.PERMISSION_DENIED, errors.Reason.SERVICE_TOKEN): 4001,
}
OPAQUE = [grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS]
SECRET_DETAIL = "mysql error 1213 at repository.py:88 for user 'chat'"

# method, path under /api/v1, success status, response model (None: no body), request body model.
ROUTES: list[tuple[str, str, str, str | None, str | None]] = [
    ("post", "/auth/register", "201", "SignedIn", "RegisterBody"),
    ("post", "/auth/login", "200", "SignedIn", "LoginBody"),
    ("post", "/auth/refresh", "200", "SignedIn", "RefreshTokenBody"),
    ("post", "/auth/logout", "204", None, "RefreshTokenBody"),
    ("get", "/users/me", "200", "User", None),
    ("get", "/users/{user_id}", "200", "User", None),
    ("get", "/users/by-username/{username}", "200", "User", None),
    ("get", "/users", "200", "Users", None),
    ("get", "/rooms", "200", "MyRooms", None),
    ("get", "/rooms/public", "200", "RoomPage", None),
    ("post", "/rooms", "201", "Room", "CreateRoomBody"),
    ("get", "/rooms/{room_id}", "200", "Room", None),
    ("post", "/rooms/{room_id}/join", "200", "Room", None),
    ("post", "/rooms/{room_id}/leave", "204", None, None),
    ("post", "/rooms/{room_id}/members", "201", "InvitationSent", "UserRef"),
    ("get", "/rooms/{room_id}/members", "200", "MemberPage", None),
    ("get", "/rooms/{room_id}/presence", "200", "Presence", None),
    ("post", "/direct", "201", "DirectRoom", "UserRef"),
    ("get", "/rooms/{room_id}/messages", "200", "MessagePage", None),
    ("post", "/rooms/{room_id}/messages", "201", "SentMessage", "SendMessageBody"),
    ("patch", "/rooms/{room_id}/messages/{seq}", "200", "OneMessage", "EditMessageBody"),
    ("delete", "/rooms/{room_id}/messages/{seq}", "200", "OneMessage", None),
    ("post", "/rooms/{room_id}/read", "200", "ReadMarker", "MarkReadBody"),
    ("post", "/rooms/{room_id}/typing", "200", "TypingNotice", None),
    # reactions and moderation
    ("put", "/rooms/{room_id}/messages/{seq}/reactions/{emoji}", "200", "Reacted", None),
    ("delete", "/rooms/{room_id}/messages/{seq}/reactions/{emoji}", "200", "Reacted", None),
    ("patch", "/rooms/{room_id}", "200", "Room", "UpdateRoomBody"),
    ("put", "/rooms/{room_id}/members/{user_id}/role", "200", "Member", "RoleBody"),
    ("delete", "/rooms/{room_id}/members/{user_id}", "204", None, None),
    # notifications
    ("put", "/rooms/{room_id}/notifications", "200", "NotificationLevelAnswer", "NotificationLevelBody"),
    # search
    ("get", "/search", "200", "SearchPage", None),
    # consent
    ("get", "/invitations", "200", "Invitations", None),
    ("post", "/invitations/{room_id}/accept", "200", "Room", None),
    ("post", "/invitations/{room_id}/decline", "204", None, None),
    ("get", "/blocks", "200", "BlockedUsers", None),
    ("put", "/blocks/{user_id}", "204", None, None),
    ("delete", "/blocks/{user_id}", "204", None, None),
]
ROUTE_IDS = [f"{method.upper()} {path}" for method, path, *_ in ROUTES]
# files: raw bytes in (upload) or out (download), not JSON; method, path, success status, its content types.
RAW_ROUTES: list[tuple[str, str, str, str]] = [
    ("post", "/rooms/{room_id}/files", "201", "requestBody"),
    ("get", "/files/{file_id}", "200", "response"),
]


def _rpc_error(code: grpc.StatusCode, details: str) -> aio.AioRpcError:
    return aio.AioRpcError(code, aio.Metadata(), aio.Metadata(), details=details, debug_error_string=None)


def _ref(content: dict[str, Any]) -> str:
    ref: str = content["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def app() -> FastAPI:
    """The gateway app, not started: enough for its OpenAPI document."""
    return create_app(GatewaySettings(client_secret="an-openapi-test-secret"))


@pytest.fixture(scope="module")
def openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document."""
    return app.openapi()


def _client(app: FastAPI) -> httpx.AsyncClient:
    """An in-process client (the lifespan is not run, so no backends are dialled)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


@pytest.fixture
async def failing_app() -> AsyncIterator[httpx.AsyncClient]:
    """A bare app with the gateway's error handlers and one route that fails with a given gRPC code."""
    app = FastAPI()
    errors.install(app)

    @app.get("/fail/{code}")
    async def fail(code: str) -> None:
        raise _rpc_error(grpc.StatusCode[code], SECRET_DETAIL)

    async with _client(app) as client:
        yield client


def test_the_table_covers_all_seventeen_codes() -> None:
    """HTTP_STATUS has an entry for every grpc.StatusCode, and there are 17 of them."""
    assert len(grpc.StatusCode) == 17 and set(errors.HTTP_STATUS) == set(grpc.StatusCode)


@pytest.mark.parametrize("code", list(grpc.StatusCode), ids=lambda code: code.name)
def test_each_grpc_code_maps_to_its_http_status(code: grpc.StatusCode) -> None:
    """Each gRPC status code becomes the HTTP status of the Connect protocol's table."""
    assert errors.HTTP_STATUS[code] == EXPECTED_HTTP[code]
    assert errors.from_rpc_error(_rpc_error(code, "why")).http_status == EXPECTED_HTTP[code]


def test_the_close_table_covers_every_code_and_reason() -> None:
    """CLOSE_CODE has a row for every grpc.StatusCode and every Reason, and nothing else."""
    assert set(errors.CLOSE_CODE) == set(grpc.StatusCode) | set(errors.Reason)


@pytest.mark.parametrize("code", list(grpc.StatusCode), ids=lambda code: code.name)
def test_each_grpc_code_maps_to_its_close_code(code: grpc.StatusCode) -> None:
    """A socket ended by a backend call failing with this status closes with the code the protocol gives it."""
    assert errors.close_code(errors.from_rpc_error(_rpc_error(code, "why"))) == EXPECTED_CLOSE[code]


@pytest.mark.parametrize(("code", "reason"), list(EXPECTED_CLOSE_BY_REASON), ids=lambda value: str(value))
def test_a_reason_overrides_its_status_close_code(code: grpc.StatusCode, reason: errors.Reason) -> None:
    """An expired token closes with 4003 (refresh), a service token with 4001, whatever their status's own row."""
    error = errors.ApiError(code, "why", reason)
    assert errors.close_code(error) == EXPECTED_CLOSE_BY_REASON[(code, reason)] != EXPECTED_CLOSE[code]


@pytest.mark.parametrize("code", OPAQUE, ids=lambda code: code.name)
def test_opaque_codes_hide_the_service_message(code: grpc.StatusCode) -> None:
    """INTERNAL, UNKNOWN and DATA_LOSS answer a generic message, never the service's details."""
    error = errors.from_rpc_error(_rpc_error(code, SECRET_DETAIL))
    assert error.body() == {"error": {"code": code.name.lower(), "message": "internal error"}}


def test_other_codes_pass_the_service_message_through() -> None:
    """A rule broken in a service reaches the browser with that service's own message."""
    error = errors.from_rpc_error(_rpc_error(grpc.StatusCode.NOT_FOUND, "room 9 does not exist"))
    assert error.body() == {"error": {"code": "not_found", "message": "room 9 does not exist"}}


@pytest.mark.parametrize("code", OPAQUE, ids=lambda code: code.name)
async def test_installed_handler_answers_500_without_the_details(
    failing_app: httpx.AsyncClient, code: grpc.StatusCode
) -> None:
    """A route whose backend call fails opaquely answers 500 and the generic error body."""
    response = await failing_app.get(f"/fail/{code.name}")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": code.name.lower(), "message": "internal error"}}


async def test_installed_handler_maps_a_visible_code(failing_app: httpx.AsyncClient) -> None:
    """A route whose backend call fails with PERMISSION_DENIED answers 403 with the service's message."""
    response = await failing_app.get("/fail/PERMISSION_DENIED")
    assert response.status_code == 403
    assert response.json() == {"error": {"code": "permission_denied", "message": SECRET_DETAIL}}


async def test_a_passing_outage_answers_503_with_a_retry_hint(failing_app: httpx.AsyncClient) -> None:
    """UNAVAILABLE (a backend or its database away) is 503 "retry shortly" with Retry-After; others have none."""
    response = await failing_app.get("/fail/UNAVAILABLE")
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert response.json()["error"]["message"] == "a backend service is unavailable; retry shortly"
    assert "retry-after" not in (await failing_app.get("/fail/PERMISSION_DENIED")).headers


async def test_openapi_document_is_served(app: FastAPI) -> None:
    """GET /api/v1/openapi.json serves the document."""
    async with _client(app) as client:
        response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.json() == app.openapi()


@pytest.mark.parametrize(("method", "path", "status", "model", "body"), ROUTES, ids=ROUTE_IDS)
def test_openapi_lists_the_route_with_its_schemas(
    openapi: dict[str, Any], method: str, path: str, status: str, model: str | None, body: str | None
) -> None:
    """Each REST route is in the document with its success status, response schema and request body schema."""
    operation = openapi["paths"][f"/api/v1{path}"][method]
    success = operation["responses"][status]
    if model is None:
        assert "content" not in success
    else:
        assert _ref(success["content"]) == model
    if body is None:
        assert "requestBody" not in operation
    else:
        assert _ref(operation["requestBody"]["content"]) == body


@pytest.mark.parametrize(
    ("method", "path", "status", "raw"), RAW_ROUTES, ids=[f"{m.upper()} {p}" for m, p, *_ in RAW_ROUTES]
)
def test_openapi_documents_raw_bytes_where_files_flow(
    openapi: dict[str, Any], method: str, path: str, status: str, raw: str
) -> None:
    """The upload's request body and the download's answer are documented as binary of any type."""
    operation = openapi["paths"][f"/api/v1{path}"][method]
    content = operation["requestBody"]["content"] if raw == "requestBody" else operation["responses"][status]["content"]
    assert content["*/*"]["schema"] == {"type": "string", "format": "binary"}


@pytest.mark.parametrize(
    ("method", "path"),
    [(m, p) for m, p, *_ in ROUTES] + [(m, p) for m, p, *_ in RAW_ROUTES],
    ids=ROUTE_IDS + [f"{m.upper()} {p}" for m, p, *_ in RAW_ROUTES],
)
def test_openapi_error_responses_use_the_error_shape(openapi: dict[str, Any], method: str, path: str) -> None:
    """Every documented error status of a route, 422 included, has the {"error": {code, message}} body."""
    responses = openapi["paths"][f"/api/v1{path}"][method]["responses"]
    failures = {status: answer for status, answer in responses.items() if int(status) >= 400}
    assert "422" in failures and "500" in failures
    assert {status: _ref(answer["content"]) for status, answer in failures.items()} == dict.fromkeys(
        failures, "ErrorResponse"
    )


def test_openapi_has_no_undocumented_rest_route(openapi: dict[str, Any]) -> None:
    """The document holds exactly the routes above (plus health), so a new route gets a test entry."""
    listed = {(method, path.removeprefix("/api/v1")) for path, ops in openapi["paths"].items() for method in ops}
    documented = {(method, path) for method, path, *_ in ROUTES + RAW_ROUTES}
    assert listed == documented | {("get", "/healthz"), ("get", "/readyz")}
