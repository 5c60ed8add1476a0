"""gRPC status codes to HTTP statuses and to WebSocket close codes: one table each, used everywhere.

The HTTP mapping follows the Connect protocol's table. The error body is always
`{"error": {"code": "<snake_case gRPC code>", "message": "<the service's message>"}}`, and a
WebSocket error frame carries the same code and message.
"""

from __future__ import annotations

import logging
import re
from enum import StrEnum
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from common.grpc_errors import REASON_KEY, RETRY_AFTER_KEY
from edge_gateway.ws import protocol as ws

log = logging.getLogger(__name__)

HTTP_STATUS: dict[grpc.StatusCode, int] = {
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

# Codes whose service message could reveal internals: the browser gets a generic one instead.
_OPAQUE = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DATA_LOSS}


class Reason(StrEnum):
    """Cases within one status code that call for something else from a client (cf. google.rpc.ErrorInfo)."""

    TOKEN_EXPIRED = "token_expired"  # UNAUTHENTICATED, but the token was genuine: refresh it, no new sign-in
    SERVICE_TOKEN = "service_token"  # PERMISSION_DENIED: a service's token where a user's belongs
    # -- files: chat_svc names these in its parley-reason trailer (common/grpc_errors.py)
    FILE_TOO_LARGE = "file_too_large"  # RESOURCE_EXHAUSTED: over CHAT_FILE_MAX_BYTES; 413, not 429 (no retry)
    FILE_TYPE_NOT_ALLOWED = "file_type_not_allowed"  # INVALID_ARGUMENT: the sniffed type is not allowed; 415
    # -- operators: FAILED_PRECONDITION from a write to an archived room; 409, the room's state conflicts
    ROOM_ARCHIVED = "room_archived"


# Reasons that are answered with their own HTTP status, and their own error code in the body.
REASON_HTTP_STATUS: dict[Reason, int] = {
    Reason.FILE_TOO_LARGE: 413,
    Reason.FILE_TYPE_NOT_ALLOWED: 415,
    Reason.ROOM_ARCHIVED: 409,
}
_TRAILED = {Reason.FILE_TOO_LARGE, Reason.FILE_TYPE_NOT_ALLOWED, Reason.ROOM_ARCHIVED}  # the reasons a backend may name


_PASSING = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


class ApiError(Exception):
    """An error for the browser: a gRPC code, a message safe to show, and, where it matters, a reason."""

    def __init__(
        self, code: grpc.StatusCode, message: str, reason: Reason | None = None, retry_after_ms: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.retry_after_ms = retry_after_ms  # a rate limit's: when the same command would be accepted

    @property
    def http_status(self) -> int:
        """The HTTP status for this error."""
        if self.reason in REASON_HTTP_STATUS:
            return REASON_HTTP_STATUS[self.reason]
        return HTTP_STATUS.get(self.code, 500)

    @property
    def name(self) -> str:
        """The code as snake_case text, e.g. "not_found" (or the reason, for those with a status of their own)."""
        if self.reason in REASON_HTTP_STATUS:
            return str(self.reason)
        return self.code.name.lower()

    @property
    def headers(self) -> dict[str, str] | None:
        """Retry-After for a rate limit (whole seconds, rounded up) and for the errors that pass (a backend
        restarting, its database away: try in 1 s)."""
        if self.retry_after_ms is not None:
            return {"Retry-After": str(max(1, -(-self.retry_after_ms // 1000)))}
        return {"Retry-After": "1"} if self.code in _PASSING else None

    def body(self) -> dict[str, Any]:
        """The JSON error body (with retry_after_ms for a rate limit)."""
        error: dict[str, Any] = {"code": self.name, "message": self.message}
        if self.retry_after_ms is not None:
            error["retry_after_ms"] = self.retry_after_ms
        return {"error": error}


def from_rpc_error(exc: grpc.aio.AioRpcError) -> ApiError:
    """The ApiError for a failed gRPC call, with the reason the backend named (parley-reason trailer)."""
    trailers: Any = exc.trailing_metadata() or ()
    named = next((str(value) for key, value in trailers if key == REASON_KEY), "")
    error = from_status(exc.code(), exc.details() or "", named)
    wait_ms = next((str(value) for key, value in trailers if key == RETRY_AFTER_KEY), "")
    if wait_ms.isdigit():
        error.retry_after_ms = int(wait_ms)
    return error


_CODES = {code.value[0]: code for code in grpc.StatusCode}


def from_status(code: grpc.StatusCode | int, details: str, named: str = "") -> ApiError:
    """The ApiError for a status code (or its number), the backend's message and the reason it named."""
    error = _from_status(code, details)
    if named in _TRAILED:
        error.reason = Reason(named)
    return error


def _from_status(code: grpc.StatusCode | int, details: str) -> ApiError:
    if isinstance(code, int):
        code = _CODES.get(code, grpc.StatusCode.UNKNOWN)
    if code in _OPAQUE:
        log.error("backend call failed with %s: %s", code.name, details)
        return ApiError(code, "internal error")
    if code == grpc.StatusCode.UNAVAILABLE:
        return ApiError(code, "a backend service is unavailable; retry shortly")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return ApiError(code, "the backend did not answer in time; retry")
    return ApiError(code, details or code.name.lower())


# -- WebSocket close codes -------------------------------------------------------------------------

# A socket that a failed call ends (signing in, loading its rooms, catching up) closes with the code
# of the call's status (docs/protocol.md "Close codes"), or of its reason where it has one.
CLOSE_CODE: dict[grpc.StatusCode | Reason, int] = {
    grpc.StatusCode.OK: 1000,
    # Transient: reconnect with backoff and resume.
    grpc.StatusCode.CANCELLED: ws.CLOSE_TRY_AGAIN,
    grpc.StatusCode.DEADLINE_EXCEEDED: ws.CLOSE_TRY_AGAIN,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ws.CLOSE_TRY_AGAIN,
    grpc.StatusCode.ABORTED: ws.CLOSE_TRY_AGAIN,
    grpc.StatusCode.UNAVAILABLE: ws.CLOSE_TRY_AGAIN,
    # E.g. a room the user left between loading their rooms and catching up: reconnecting resolves it.
    grpc.StatusCode.PERMISSION_DENIED: ws.CLOSE_TRY_AGAIN,
    # The gateway asked something the backend could not answer: a bug on our side; reconnect and resume.
    grpc.StatusCode.UNKNOWN: ws.CLOSE_INTERNAL,
    grpc.StatusCode.INVALID_ARGUMENT: ws.CLOSE_INTERNAL,
    grpc.StatusCode.NOT_FOUND: ws.CLOSE_INTERNAL,
    grpc.StatusCode.ALREADY_EXISTS: ws.CLOSE_INTERNAL,
    grpc.StatusCode.FAILED_PRECONDITION: ws.CLOSE_INTERNAL,
    grpc.StatusCode.OUT_OF_RANGE: ws.CLOSE_INTERNAL,
    grpc.StatusCode.UNIMPLEMENTED: ws.CLOSE_INTERNAL,
    grpc.StatusCode.INTERNAL: ws.CLOSE_INTERNAL,
    grpc.StatusCode.DATA_LOSS: ws.CLOSE_INTERNAL,
    # Credentials: sign in again, or just refresh the token.
    grpc.StatusCode.UNAUTHENTICATED: ws.CLOSE_UNAUTHENTICATED,
    Reason.SERVICE_TOKEN: ws.CLOSE_UNAUTHENTICATED,
    Reason.TOKEN_EXPIRED: ws.CLOSE_TOKEN_EXPIRED,
    # Files: REST only (uploads); as their statuses' rows.
    Reason.FILE_TOO_LARGE: ws.CLOSE_TRY_AGAIN,
    Reason.FILE_TYPE_NOT_ALLOWED: ws.CLOSE_INTERNAL,
    # An archived room: a frame's error, never a socket's end (catching up reads, it writes nothing).
    Reason.ROOM_ARCHIVED: ws.CLOSE_INTERNAL,
}


def close_code(error: ApiError) -> int:
    """The WebSocket close code for a socket that this error ends."""
    return CLOSE_CODE[error.reason if error.reason is not None else error.code]


def allowed_methods(request: Request) -> str:
    """The `Allow` header for the request's path: every method the OpenAPI document lists for it.

    Where several templates match, the most literal ones own the path: /rooms/public is the channel
    browser's, not a room called "public" of /rooms/{room_id}.
    """
    matching: list[tuple[int, dict[str, Any]]] = []
    for template, operations in request.app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            matching.append((template.count("{"), operations))
    fewest = min((parameters for parameters, _ in matching), default=0)
    methods = {
        method.upper()
        for parameters, operations in matching
        if parameters == fewest
        for method in operations
        if method != "parameters"
    }
    return ", ".join(sorted(methods))


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the same JSON shape."""

    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(exc.body(), status_code=exc.http_status, headers=exc.headers)

    async def rpc_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, grpc.aio.AioRpcError)
        return await api_error(request, from_rpc_error(exc))

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        location = list(first.get("loc", ()))
        if location[:1] == ["body"]:  # "body" the request part, not a field that is called body
            location = location[1:]
        where = ".".join(str(part) for part in location)
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else first.get("msg", "invalid request")
        body = ApiError(grpc.StatusCode.INVALID_ARGUMENT, message).body()
        return JSONResponse(body, status_code=422)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = {401: "unauthenticated", 403: "permission_denied", 404: "not_found", 405: "method_not_allowed"}
        name = code.get(exc.status_code, "invalid_argument" if exc.status_code < 500 else "internal")
        headers = exc.headers
        if exc.status_code == 405:  # Starlette names the methods of one route; a path can have several
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return JSONResponse(
            {"error": {"code": name, "message": str(exc.detail)}}, status_code=exc.status_code, headers=headers
        )

    async def unexpected_error(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return JSONResponse(ApiError(grpc.StatusCode.INTERNAL, "internal error").body(), status_code=500)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(Exception, unexpected_error)
    app.add_exception_handler(grpc.aio.AioRpcError, rpc_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
